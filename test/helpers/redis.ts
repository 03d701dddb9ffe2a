/**
 * A real redis-server for the queue tests: on 127.0.0.1 only, on a free port, with its data
 * in a temporary folder (append-only file on, so a restart keeps the queue), stopped by the
 * test. Nothing here touches any other address.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether Debian's redis-server is installed (.ci/run installs it). */
export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  /** Stop (SIGTERM: Redis writes its append-only file) and start again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'aimc-redis-'));
  let proc: ChildProcess | null = null;
  const start = () =>
    new Promise<void>((res, rej) => {
      const p = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      proc = p;
      let out = '';
      const timer = setTimeout(() => rej(new Error(`redis-server did not start:\n${out}`)), 10_000);
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          res();
        }
      });
      p.once('exit', (code) => {
        clearTimeout(timer);
        if (!out.includes('Ready to accept connections')) rej(new Error(`redis-server exited (${code}):\n${out}`));
      });
    });
  const stop = () =>
    new Promise<void>((res) => {
      const p = proc;
      if (!p || p.exitCode !== null) return res();
      p.once('exit', () => res());
      p.kill('SIGTERM');
    });
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}
