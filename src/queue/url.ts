/** A queue address as users write it: redis://HOST:PORT[/DB] (rediss:// for TLS). */

export interface QueueAddress {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
  /** As given, without the password (for messages). */
  display: string;
}

/** Parse `--queue` (flag name in `where`): only redis:// and rediss:// addresses. */
export function parseQueueUrl(text: string, where = '--queue'): QueueAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`${where}: expected redis://HOST:PORT[/DB], got '${text}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`${where}: expected a redis:// or rediss:// address, got '${text}'`);
  if (!u.hostname) throw new Error(`${where}: no host in '${text}'`);
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path))
    throw new Error(`${where}: the database after the port must be a number, got '${path}' in '${text}'`);
  const db = path === '' ? 0 : Number(path);
  if (db > 15) throw new Error(`${where}: database ${db} is beyond Redis's default 16 (0..15)`);
  const safe = new URL(text);
  if (safe.password) safe.password = '***';
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    tls: u.protocol === 'rediss:',
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    display: safe.toString(),
  };
}

/** Connection options for BullMQ and ioredis (workers need maxRetriesPerRequest null: they block on the queue). */
export function redisOptions(a: QueueAddress): Record<string, unknown> {
  return {
    host: a.host,
    port: a.port,
    db: a.db,
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: a.password } : {}),
    ...(a.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // Keep trying while Redis restarts: every 0.2 s at first, at most every 2 s.
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/** The BullMQ queue of an experiment. */
export function queueName(experiment: string): string {
  return `aimc-${experiment}`;
}

/** Redis set of every experiment queue, so workers find them. */
export const QUEUES_KEY = 'aimc:queues';

/** Redis hash of one adapter's files (relative path → content). */
export function artifactKey(hash: string): string {
  return `aimc:artifact:${hash}`;
}
