/**
 * Experiments on Redis + BullMQ workers against a real redis-server (127.0.0.1, a free port,
 * a temporary folder): the same results.jsonl byte for byte as a local run on 2 workers, and
 * after a worker is SIGKILLed mid-job, the coordinator killed and restarted, and Redis
 * restarted; a worker whose files differ fails the job at once; a job that always throws is
 * reported after its attempts while the rest of the experiment is recorded.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { initBackend } from '../../src/tensor/backend.js';
import { loadSpec } from '../../src/experiment/spec.js';
import { JobsFailedError, runExperiment } from '../../src/experiment/runner.js';
import { queueExecutor } from '../../src/queue/coordinator.js';
import { parseQueueUrl, queueName, redisOptions } from '../../src/queue/url.js';
import { queueStatus } from '../../src/queue/status.js';
import { tinyEncoderOnDisk } from '../helpers/tiny.js';
import { redisServerAvailable, startRedis, type TestRedis } from '../helpers/redis.js';
import { cli } from '../helpers/cli.js';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin', 'aimc.js');
let modelDir: string;
let dataFile: string;
let redis: TestRedis;
const workers: ChildProcess[] = [];

const spec = (name: string, adapters: object[] = [{ plugin: 'grasp', config: { groups: 4 } }, { plugin: 'bitfit' }]) => ({
  name,
  model: modelDir,
  task: dataFile,
  training: { steps: 10, batch: 8, seq: 8, warmup: 2, evalEvery: 5, lr: 1e-2 },
  evaluation: { limit: 12, seq: 8 },
  adapters,
  devices: [{ device: 'pcm-nandakumar-2019' }, { device: 'rram-wan-2022' }],
  times: ['1s', '1d'],
  trials: 3,
  seeds: ['a'],
});

function writeSpec(obj: object): string {
  const f = join(mkdtempSync(join(tmpdir(), 'aimc-qspec-')), 'spec.json');
  writeFileSync(f, JSON.stringify(obj, null, 2));
  return f;
}

/** An `aimc worker` process on the test's Redis, once it is connected; its log is kept for failures. */
async function startWorkerProcess(log: string[], extra: string[] = []): Promise<ChildProcess> {
  const p = spawn(process.execPath, [BIN, 'worker', '--queue', redis.url, '--stall-timeout', '2', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.push(p);
  await new Promise<void>((res, rej) => {
    let mine = '';
    p.stderr!.on('data', (d: Buffer) => {
      log.push(d.toString());
      mine += d.toString();
      if (/^worker \S+ on /m.test(mine)) res();
    });
    p.once('exit', (code) => rej(new Error(`aimc worker exited (${code}) before it was ready:\n${mine}`)));
  });
  return p;
}

const stopWorkers = async () => {
  await Promise.all(
    workers.splice(0).map(
      (w) =>
        new Promise<void>((res) => {
          if (w.exitCode !== null || w.signalCode !== null) return res();
          w.once('exit', () => res());
          w.kill('SIGTERM');
          setTimeout(() => w.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
};

async function localResults(file: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'aimc-qlocal-'));
  const res = await runExperiment(await loadSpec(file), { root, workers: 1 });
  return readFileSync(join(res.dir, 'results.jsonl'), 'utf8');
}

const waitFor = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe.runIf(redisServerAvailable())('experiments on a Redis queue', () => {
  beforeAll(async () => {
    await initBackend();
    ({ modelDir, dataFile } = await tinyEncoderOnDisk('aimc-queue-'));
    redis = await startRedis();
  });
  afterAll(async () => {
    await stopWorkers();
    await redis?.stop();
  });

  it("2 workers give the local run's results.jsonl byte for byte; queue status shows the queue and its workers", async () => {
    const file = writeSpec(spec('two-workers'));
    const local = await localResults(file);
    const log: string[] = [];
    await Promise.all([startWorkerProcess(log), startWorkerProcess(log)]);
    const root = mkdtempSync(join(tmpdir(), 'aimc-qrun-'));
    const address = parseQueueUrl(redis.url);
    let seen: Awaited<ReturnType<typeof queueStatus>> = [];
    const res = await runExperiment(await loadSpec(file), {
      root,
      executor: queueExecutor({ address }),
      onProgress: () => void queueStatus(address).then((s) => (seen = s.length ? s : seen)),
    });
    expect(readFileSync(join(res.dir, 'results.jsonl'), 'utf8')).toBe(local);
    // Adapters the workers trained are under runs/NAME/adapters/ as in a local run.
    expect(res.adapters.every((a) => existsSync(join(a.dir, 'job.json')))).toBe(true);
    const q = (await queueStatus(address)).find((s) => s.queue === queueName('two-workers'))!;
    expect(q.done).toBe(2 + 2 * 2 * 3); // 2 trainings, 2 adapters × 2 devices × 3 trials
    expect(q.failed).toBe(0);
    expect(q.workers.length, log.join('')).toBe(2);
    const printed = await cli('queue', 'status', '--queue', redis.url);
    expect(printed.code, printed.err).toBe(0);
    expect(printed.out).toMatch(/aimc-two-workers/);
    expect(seen.length).toBeGreaterThan(0);
    await stopWorkers();
  });

  it('a worker SIGKILLed mid-job, the coordinator killed and restarted, Redis restarted: the same file, no line lost or twice', async () => {
    const file = writeSpec(spec('faults'));
    const local = await localResults(file);
    const log: string[] = [];
    const [victim] = await Promise.all([startWorkerProcess(log), startWorkerProcess(log)]);
    const runs = mkdtempSync(join(tmpdir(), 'aimc-qfault-'));
    const results = join(runs, 'faults', 'results.jsonl');
    const coordinator = (): ChildProcess =>
      spawn(process.execPath, [BIN, 'experiment', 'run', file, '--runs', runs, '--queue', redis.url, '--no-report'], { stdio: 'ignore' });
    const lines = () => (existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).length : 0);
    // Kill a worker while it holds a job.
    const q = new Queue(queueName('faults'), { connection: redisOptions(parseQueueUrl(redis.url)) as never });
    let c = coordinator();
    await waitFor(async () => (await q.getActiveCount()) > 0, 60_000, 'an active job');
    victim!.kill('SIGKILL');
    // The coordinator dies too once something is recorded, then Redis restarts.
    await waitFor(() => lines() >= 3, 120_000, 'three result lines');
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
    await q.close();
    await redis.restart();
    c = coordinator();
    const code = await new Promise<number | null>((r) => c.once('exit', r));
    expect(code, log.join('')).toBe(0);
    const got = readFileSync(results, 'utf8');
    expect(got).toBe(local);
    expect(log.join('')).toMatch(/started/);
    await stopWorkers();
  });

  it("a worker whose base model differs from the coordinator's fails the job at once, saying so", async () => {
    const log: string[] = [];
    const address = parseQueueUrl(redis.url);
    // The coordinator's model is a copy; the worker sees the same path with other weights.
    const mine = mkdtempSync(join(tmpdir(), 'aimc-qmodel-'));
    cpSync(modelDir, mine, { recursive: true });
    const file = writeSpec({ ...spec('mismatch', [{ plugin: 'bitfit' }]), model: mine });
    const r = await loadSpec(file);
    const root = mkdtempSync(join(tmpdir(), 'aimc-qmm-'));
    const run = runExperiment(r, { root, executor: queueExecutor({ address }) });
    const q = new Queue(queueName('mismatch'), { connection: redisOptions(address) as never });
    await waitFor(async () => (await q.getWaitingCount()) > 0, 30_000, 'the training job');
    // Same files, one byte of the config changed after the coordinator took its checksums.
    const cfg = join(mine, 'config.json');
    writeFileSync(cfg, readFileSync(cfg, 'utf8') + ' ');
    await startWorkerProcess(log);
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsFailedError);
    expect((err as Error).message).toMatch(/base model '.*' differs from the coordinator's \(checksum \w+ here, \w+ there\)/);
    const job = (await q.getJobs(['failed']))[0]!;
    expect(job.attemptsMade).toBe(1); // not retried: another try would meet the same files
    await q.close();
    await stopWorkers();
  });

  it('a job that always throws is retried, then reported with its error; the other adapters are recorded (adapters through --artifacts DIR)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-qfail-'));
    const plug = join(d, 'failing');
    cpSync(join(ROOT, 'plugins', 'head'), plug, { recursive: true });
    const head = join(ROOT, 'dist', 'plugins', 'head', 'index.js');
    writeFileSync(
      join(plug, 'index.mjs'),
      `import head from ${JSON.stringify(head)};\n` +
        `export default { ...head, create(config, ctx) { const a = head.create(config, ctx); ` +
        `a.beginStep = (rng) => { if (rng) throw new Error('this plugin always throws in training'); }; return a; } };\n`,
    );
    const file = writeSpec(spec('failing', [{ plugin: plug, label: 'failing' }, { plugin: 'bitfit' }]));
    const log: string[] = [];
    const shared = mkdtempSync(join(tmpdir(), 'aimc-qart-'));
    await startWorkerProcess(log, ['--artifacts', shared]);
    const root = mkdtempSync(join(tmpdir(), 'aimc-qfr-'));
    const address = parseQueueUrl(redis.url);
    const err = await runExperiment(await loadSpec(file), { root, executor: queueExecutor({ address, artifacts: shared }) }).catch(
      (e: unknown) => e,
    );
    expect(err, log.join('')).toBeInstanceOf(JobsFailedError);
    expect((err as Error).message).toMatch(/training failing a none: .*this plugin always throws in training/);
    const lines = readFileSync(join(root, 'failing', 'results.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'result' && l.adapter === 'bitfit')).toHaveLength(2 * 2 * 3);
    expect(lines.some((l) => l.adapter === 'failing')).toBe(false);
    // The worker's adapter went through the shared directory, not Redis.
    const bitfit = lines.find((l) => l.kind === 'train' && l.adapter === 'bitfit');
    expect(existsSync(join(shared, bitfit.job, 'job.json'))).toBe(true);
    const q = new Queue(queueName('failing'), { connection: redisOptions(address) as never });
    expect((await q.getJobs(['failed']))[0]!.attemptsMade).toBe(3);
    await q.close();
    await stopWorkers();
  });
});

describe('queue addresses', () => {
  it('redis:// and rediss:// with host, port and database; anything else is refused naming the flag', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6380/2')).toMatchObject({ host: '10.0.0.5', port: 6380, db: 2, tls: false });
    expect(parseQueueUrl('redis://localhost')).toMatchObject({ port: 6379, db: 0 });
    expect(parseQueueUrl('redis://:pw@h:1/0').display).not.toContain('pw');
    expect(() => parseQueueUrl('http://h:1')).toThrow(/--queue: expected a redis:\/\/ or rediss:\/\/ address/);
    expect(() => parseQueueUrl('redis://h:1/x')).toThrow(/the database after the port must be a number/);
    expect(() => parseQueueUrl('nonsense')).toThrow(/--queue: expected redis:\/\/HOST:PORT/);
  });
});
