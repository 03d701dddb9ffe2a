/**
 * Trained adapters where every worker can read them: in Redis (one hash per adapter, file
 * → bytes; adapters are KB to MB) or in a shared directory (`--artifacts DIR`, DIR/<hash>/).
 * An adapter folder is complete when its job.json exists: it is written last and read first.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Redis } from 'ioredis';
import { artifactKey } from './url.js';

export interface ArtifactStore {
  /** Whether adapter `hash` is stored. */
  has(hash: string): Promise<boolean>;
  /** Store the adapter folder `dir` as `hash`. */
  put(hash: string, dir: string): Promise<void>;
  /** Write adapter `hash` into `dir` (job.json last); false when it is not stored. */
  get(hash: string, dir: string): Promise<boolean>;
}

function filesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Files written to a fresh folder beside `dir`, then moved in place: a reader never sees half an adapter. */
function writeFolder(dir: string, files: [string, Buffer][]): void {
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [rel, bytes] of files) {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), bytes);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
}

export class RedisArtifacts implements ArtifactStore {
  constructor(private readonly redis: Redis) {}

  async has(hash: string): Promise<boolean> {
    return (await this.redis.hexists(artifactKey(hash), 'job.json')) === 1;
  }

  async put(hash: string, dir: string): Promise<void> {
    const files = filesOf(dir);
    if (!files.includes('job.json')) throw new Error(`${dir}: not a finished adapter (no job.json)`);
    const key = artifactKey(hash);
    // job.json last (its own command): `has` is true only for a complete set.
    const rest = files.filter((f) => f !== 'job.json');
    const multi = this.redis.multi().del(key);
    for (const f of rest) multi.hset(key, f, readFileSync(join(dir, f)));
    await multi.exec();
    await this.redis.hset(key, 'job.json', readFileSync(join(dir, 'job.json')));
  }

  async get(hash: string, dir: string): Promise<boolean> {
    const all = await this.redis.hgetallBuffer(artifactKey(hash));
    if (!all['job.json']) return false;
    writeFolder(dir, Object.entries(all));
    return true;
  }
}

export class DirArtifacts implements ArtifactStore {
  constructor(private readonly root: string) {
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`--artifacts: ${root} is not a directory`);
  }

  async has(hash: string): Promise<boolean> {
    return existsSync(join(this.root, hash, 'job.json'));
  }

  async put(hash: string, dir: string): Promise<void> {
    const files = filesOf(dir);
    if (!files.includes('job.json')) throw new Error(`${dir}: not a finished adapter (no job.json)`);
    writeFolder(
      join(this.root, hash),
      files.map((f) => [f, readFileSync(join(dir, f))]),
    );
  }

  async get(hash: string, dir: string): Promise<boolean> {
    const src = join(this.root, hash);
    if (!existsSync(join(src, 'job.json'))) return false;
    rmSync(dir, { recursive: true, force: true });
    cpSync(src, dir, { recursive: true });
    return true;
  }
}
