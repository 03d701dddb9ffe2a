/** Experiment integrity: results never mix two experiments, adapters are reused by content, runs cannot collide. */
import { describe, it, expect, beforeAll } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { loadSpec } from '../../src/experiment/spec.js';
import { defaultRunsRoot, lockRun, runExperiment, StaleResultsError, trainJobs } from '../../src/experiment/runner.js';
import { readResults } from '../../src/experiment/store.js';
import { loadProfile } from '../../src/device/profile.js';
import { tinyEncoderOnDisk } from '../helpers/tiny.js';

let modelDir: string;
let dataFile: string;

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  ({ modelDir, dataFile } = await tinyEncoderOnDisk('aimc-integrity-'));
});

/** One adapter, one device, one time, one trial: the smallest run that writes every kind of line. */
function small(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    model: modelDir,
    task: dataFile,
    training: { steps: 4, batch: 8, seq: 8, evalEvery: 4, lr: 1e-2 },
    evaluation: { limit: 8, seq: 8 },
    adapters: [{ plugin: 'grasp', config: { groups: 4 } }],
    devices: [{ device: 'ideal' }],
    times: ['1d'],
    trials: 1,
    seeds: ['a'],
    ...over,
  };
}

function write(dir: string, obj: object, file = 'spec.json'): string {
  mkdirSync(dir, { recursive: true });
  const f = join(dir, file);
  writeFileSync(f, JSON.stringify(obj, null, 2));
  return f;
}

const keysOf = (dir: string) =>
  readResults(join(dir, 'results.jsonl'))
    .map((l) => l.key)
    .sort();

describe('an edited spec under the same name', () => {
  for (const [what, edit] of [
    ['the learning rate', { training: { steps: 4, batch: 8, seq: 8, evalEvery: 4, lr: 3e-2 } }],
    ['the plugin config', { adapters: [{ plugin: 'grasp', config: { groups: 2 } }] }],
    ['the evaluation subset', { evaluation: { limit: 6, seq: 8 } }],
    ['a time removed', { times: ['1s'] }],
    ['the device noise scale', { devices: [{ device: 'ideal', noiseScales: [2] }] }],
  ] as const) {
    it(`(${what}) is refused before any work; --discard-stale drops exactly the stale lines and gives a fresh run's results`, async () => {
      const d = mkdtempSync(join(tmpdir(), 'aimc-edit-'));
      const root = join(d, 'runs');
      const first = await runExperiment(await loadSpec(write(d, small('same'))), { root, workers: 1 });
      const before = readResults(join(first.dir, 'results.jsonl'));
      const edited = await loadSpec(write(d, small('same', edit)));
      await expect(runExperiment(edited, { root, workers: 1 })).rejects.toBeInstanceOf(StaleResultsError);
      // Nothing was touched by the refusal.
      expect(readResults(join(first.dir, 'results.jsonl'))).toEqual(before);
      const res = await runExperiment(edited, { root, workers: 1, discardStale: true });
      expect(res.discarded).toBeGreaterThan(0);
      const fresh = await runExperiment(await loadSpec(write(join(d, 'fresh'), small('same', edit))), {
        root: join(d, 'fresh-runs'),
        workers: 1,
      });
      const norm = (dir: string) => readResults(join(dir, 'results.jsonl')).sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(norm(res.dir)).toEqual(norm(fresh.dir));
    });
  }

  it('an unchanged spec resumes as before (nothing stale)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-same-'));
    const spec = write(d, small('again'));
    const a = await runExperiment(await loadSpec(spec), { root: join(d, 'runs'), workers: 1 });
    const b = await runExperiment(await loadSpec(spec), { root: join(d, 'runs'), workers: 1 });
    expect(b.discarded).toBe(0);
    // Every line is recorded: the adapter is not even looked at.
    expect(b.adapters.map((x) => x.source)).toEqual(['recorded']);
    expect(keysOf(b.dir)).toEqual(keysOf(a.dir));
  });

  it('a complete run whose adapter folders were deleted (to save disk) resumes without retraining; a missing line retrains', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-noadapters-'));
    const spec = write(d, small('slim'));
    const a = await runExperiment(await loadSpec(spec), { root: join(d, 'runs'), workers: 1 });
    const file = join(a.dir, 'results.jsonl');
    const full = readFileSync(file, 'utf8');
    rmSync(join(a.dir, 'adapters'), { recursive: true });
    const b = await runExperiment(await loadSpec(spec), { root: join(d, 'runs'), workers: 1 });
    expect(b.adapters.map((x) => x.source)).toEqual(['recorded']);
    expect(existsSync(join(a.dir, 'adapters'))).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(full);
    // Drop the last result line: its adapter is needed again, retrained, and the line comes back the same.
    const lines = full.trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1)!).kind).toBe('result');
    writeFileSync(file, lines.slice(0, -1).join('\n') + '\n');
    const c = await runExperiment(await loadSpec(spec), { root: join(d, 'runs'), workers: 1 });
    expect(c.adapters.map((x) => x.source)).toEqual(['trained']);
    expect(readFileSync(file, 'utf8')).toBe(full);
  });
});

describe('content, not paths', () => {
  it('a task file edited in place makes its adapters and results stale, and is not reused from another experiment', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-task-'));
    const task = join(d, 'task.jsonl');
    cpSync(dataFile, task);
    const root = join(d, 'runs');
    const first = await runExperiment(await loadSpec(write(d, small('t1', { task }))), { root, workers: 1 });
    expect(first.adapters[0]!.source).toBe('trained');
    // Same path, other content (labels flipped).
    writeFileSync(task, readFileSync(task, 'utf8').replace(/"pos"/g, '"tmp"').replace(/"neg"/g, '"pos"').replace(/"tmp"/g, '"neg"'));
    await expect(runExperiment(await loadSpec(write(d, small('t1', { task }))), { root, workers: 1 })).rejects.toThrow(
      /do not hold for the spec as it is now/,
    );
    // Another experiment with the same settings must not copy the adapter trained on the old content.
    const second = await runExperiment(await loadSpec(write(d, small('t2', { task }), 'spec2.json')), { root, workers: 1 });
    expect(second.adapters[0]!.source).toBe('trained');
  });

  it('the same profile under two paths is one device; two profiles with one file name are two HWA settings', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-dev-'));
    const pcm = loadProfile('pcm-nandakumar-2019');
    const a = write(join(d, 'a'), pcm, 'chip.json');
    const b = write(join(d, 'b'), { ...pcm, name: 'chip-b', scales: { ...pcm.scales, programming: 2 } }, 'chip.json');
    const spec = await loadSpec(
      write(
        d,
        small('hwa2', {
          adapters: [
            {
              plugin: 'grasp',
              config: { groups: 4 },
              hwa: [
                { device: a, time: '1h' },
                { device: b, time: '1h' },
              ],
            },
          ],
        }),
      ),
    );
    const jobs = trainJobs(spec, join(d, 'runs'));
    expect(jobs).toHaveLength(2);
    expect(new Set(jobs.map((j) => j.hwaKey)).size).toBe(2);
    expect(new Set(jobs.map((j) => j.dir)).size).toBe(2);
    const res = await runExperiment(spec, { root: join(d, 'runs'), workers: 1 });
    const results = readResults(join(res.dir, 'results.jsonl')).filter((l) => l.kind === 'result');
    expect(results).toHaveLength(2);
  });
});

describe('labels, seeds and locks', () => {
  it('a plugin folder whose name cannot be a label must be given one', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-label-'));
    const plug = join(d, 'x y');
    cpSync(join(__dirname, '../../plugins/head'), plug, { recursive: true });
    writeFileSync(join(plug, 'index.mjs'), "export default { name: 'xy', description: 'x', create() { throw new Error('unused'); } };\n");
    await expect(loadSpec(write(d, small('lab', { adapters: [{ plugin: plug }, { plugin: 'grasp', label: 'x_y' }] })))).rejects.toThrow(
      /\/adapters\/0: the label taken from the plugin folder, 'x y', has characters a label cannot/,
    );
  });

  for (const seeds of [['s 1'], ['a/b'], ['', 'x'], ['s1', 's1']]) {
    it(`seeds ${JSON.stringify(seeds)} are refused`, async () => {
      const d = mkdtempSync(join(tmpdir(), 'aimc-seed-'));
      await expect(loadSpec(write(d, small('seeds', { seeds })))).rejects.toThrow(/\/seeds/);
    });
  }

  it("a second run of the same experiment is refused while one holds the lock; a dead run's lock is taken over", () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-lock-'));
    const release = lockRun(d);
    expect(() => lockRun(d)).toThrow(/another run of this experiment is in progress \(pid \d+/);
    release();
    expect(existsSync(join(d, '.lock'))).toBe(false);
    // A lock whose process is gone (pid far above any real one).
    writeFileSync(join(d, '.lock'), JSON.stringify({ pid: 2 ** 30, host: hostname(), since: 'then' }));
    const again = lockRun(d);
    again();
  });

  it('the default runs root follows the spec, not the current directory', () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-root-'));
    writeFileSync(join(d, 'package.json'), '{}');
    const spec = write(join(d, 'experiments', 'deep'), small('r'));
    expect(defaultRunsRoot(spec)).toBe(join(d, 'runs'));
    const prev = process.cwd();
    process.chdir(tmpdir());
    try {
      expect(defaultRunsRoot(spec)).toBe(join(d, 'runs'));
    } finally {
      process.chdir(prev);
    }
  });
});

describe('tile sizes in a spec', () => {
  it('a device entry on other tiles is its own device in results (profile@RxC), its tile recorded, the same profile beside it', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-tiles-'));
    const root = join(d, 'runs');
    const spec = small('tiles', { devices: [{ device: 'ideal' }, { device: 'ideal', tile: { rows: 16, cols: 8 } }] });
    const res = await runExperiment(await loadSpec(write(d, spec)), { root, workers: 1 });
    const lines = readResults(join(res.dir, 'results.jsonl'));
    const devices = [...new Set(lines.filter((l) => l.kind === 'result').map((l) => l.device))].sort();
    expect(devices).toEqual(['ideal', 'ideal@16x8']);
    const dl = lines.find((l) => l.kind === 'device' && l.device === 'ideal@16x8') as Record<string, unknown>;
    expect(dl.profile).toBe('ideal');
    expect(dl.tile).toEqual({ rows: 16, cols: 8 });
  });

  it('refuses a bad tile size and two entries on the same tiles, naming the entry', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-tiles-'));
    await expect(loadSpec(write(d, small('zero', { devices: [{ device: 'ideal', tile: { rows: 0, cols: 8 } }] })))).rejects.toThrow(
      /\/devices\/0\/tile\/rows/,
    );
    const twice = {
      devices: [
        { device: 'ideal', tile: { rows: 8, cols: 8 } },
        { device: 'ideal', tile: { rows: 8, cols: 8 } },
      ],
    };
    await expect(loadSpec(write(d, small('twice', twice)))).rejects.toThrow(/\/devices\/1: the same device, temperature, tile/);
  });
});

describe('read temperatures in a spec', () => {
  const warmProfile = (dir: string): string => {
    const p = structuredClone(loadProfile('ideal')) as unknown as Record<string, unknown>;
    p.name = 'ideal-warm';
    p.temperature = { reference: 300, driftActivationEnergy: 0.3, conductanceCoefficient: 0.002, sources: ['test'] };
    return write(dir, p, 'ideal-warm.json');
  };

  it('a device entry at a temperature is its own device in results (profile@T), beside the same profile at its own temperature', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-temp-'));
    const file = warmProfile(d);
    const root = join(d, 'runs');
    const res = await runExperiment(
      await loadSpec(write(d, small('warm', { devices: [{ device: file }, { device: file, temperature: '85C' }] }))),
      { root, workers: 1 },
    );
    const lines = readResults(join(res.dir, 'results.jsonl'));
    const devices = [...new Set(lines.filter((l) => l.kind === 'result').map((l) => l.device))].sort();
    expect(devices).toEqual([file, `${file}@85C`]);
    const dl = lines.find((l) => l.kind === 'device' && l.device === `${file}@85C`) as Record<string, unknown>;
    expect(dl.profile).toBe(file);
    expect(dl.temperature).toBeCloseTo(358.15, 10);
  });

  it('refuses a temperature the profile cannot take, or one without a unit, naming the entry', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-temp-'));
    await expect(loadSpec(write(d, small('cold', { devices: [{ device: 'ideal', temperature: '85C' }] })))).rejects.toThrow(
      /\/devices\/0\/temperature: ideal: the profile has no temperature section/,
    );
    await expect(loadSpec(write(d, small('cold', { devices: [{ device: warmProfile(d), temperature: '85' }] })))).rejects.toThrow(
      /\/devices\/0\/temperature: expected a temperature with its unit/,
    );
    await expect(loadSpec(write(d, small('twice', { devices: [{ device: 'ideal' }, { device: 'ideal' }] })))).rejects.toThrow(
      /\/devices\/1: the same device, temperature, tile, noise scale \(1\) and compensation as an earlier entry/,
    );
  });
});
