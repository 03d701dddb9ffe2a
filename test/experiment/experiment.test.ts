import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { loadSpec, parseSpec, SpecError } from '../../src/experiment/spec.js';
import { runExperiment, trainJobs, deployJobs } from '../../src/experiment/runner.js';
import { readResults } from '../../src/experiment/store.js';
import { buildReport } from '../../src/report/report.js';
import { tinyEncoderOnDisk } from '../helpers/tiny.js';
import { cli } from '../helpers/cli.js';

let modelDir: string;
let dataFile: string;
const ROOT = resolve(__dirname, '../..');

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  ({ modelDir, dataFile } = await tinyEncoderOnDisk('aimc-exp-'));
});

/** A small but complete experiment: two adapters (one with HWA), two devices, two scales, two times, two trials. */
function specJson(name = 'tiny'): object {
  return {
    name,
    model: modelDir,
    task: dataFile,
    training: { steps: 12, batch: 8, seq: 8, warmup: 2, evalEvery: 6, lr: 1e-2 },
    evaluation: { limit: 12, seq: 8 },
    adapters: [
      { plugin: 'grasp', config: { groups: 4 }, hwa: [false, { device: 'pcm-nandakumar-2019', time: '1h' }] },
      { plugin: 'stochgrasp', config: { groups: 4 } },
    ],
    devices: [{ device: 'pcm-nandakumar-2019', noiseScales: [1, 2] }, { device: 'rram-wan-2022' }],
    times: ['1s', '1d'],
    trials: 2,
    seeds: ['a'],
    compare: [['stochgrasp', 'grasp+hwa']],
  };
}

function writeSpec(obj: object): string {
  const f = join(mkdtempSync(join(tmpdir(), 'aimc-spec-')), 'spec.json');
  writeFileSync(f, JSON.stringify(obj, null, 2));
  return f;
}

describe('experiment specs', () => {
  it('expands into training and deployment jobs', async () => {
    const r = await loadSpec(writeSpec(specJson()));
    const t = trainJobs(r, join(tmpdir(), 'x'));
    expect(t.map((j) => `${j.label}/${j.hwaKey}`)).toEqual(['grasp/none', 'grasp/pcm-nandakumar-2019@1h', 'stochgrasp/none']);
    expect(deployJobs(r, t)).toHaveLength(3 * 3);
    expect(r.times).toEqual([1, 86400]);
  });

  it('a malformed spec is refused before any work, listing every problem with its JSON path', async () => {
    const bad = {
      ...specJson('never'),
      trials: 0,
      times: ['soon'],
      adapters: [{ plugin: 'grasp', config: { groups: 0 } }, { plugin: 'lorra' }],
      devices: [{ device: 'pcm-nope' }],
      extra: 1,
    };
    const f = writeSpec(bad);
    expect(() => parseSpec(JSON.stringify(bad), f)).toThrow(SpecError);
    try {
      parseSpec(JSON.stringify(bad), f);
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain(`${f}: invalid experiment spec`);
      expect(msg).toContain("/extra: unknown property 'extra' (known: $schema, name,");
      expect(msg).toContain('/trials: expected integer >= 1, got 0');
    }
    const semantic = writeSpec({
      ...specJson('never'),
      times: ['soon'],
      adapters: [{ plugin: 'grasp', config: { groups: 0 } }, { plugin: 'lorra' }, { plugin: 'lora', label: 'grasp' }],
      devices: [{ device: 'pcm-nope' }],
      compare: [['grasp', 'ia3+hwa']],
    });
    await expect(loadSpec(semantic)).rejects.toThrow(SpecError);
    const err = await loadSpec(semantic).catch((e: Error) => e.message);
    expect(err).toMatch(/\/times\/0: 'soon' is not a duration/);
    expect(err).toMatch(/\/adapters\/0: .*\/groups: expected integer >= 1, got 0/);
    expect(err).toMatch(/\/adapters\/1: unknown adapter 'lorra'/);
    expect(err).toMatch(/\/adapters\/2\/label: 'grasp' is used twice/);
    expect(err).toMatch(/\/devices\/0\/device: unknown device 'pcm-nope'/);
    expect(err).toMatch(/\/compare\/0\/1: 'ia3\+hwa' is not an adapter label/);
    const cwd = mkdtempSync(join(tmpdir(), 'aimc-nowork-'));
    const prev = process.cwd();
    process.chdir(cwd);
    try {
      const r = await cli('experiment', 'run', semantic);
      expect(r.code).toBe(1);
      expect(existsSync(join(cwd, 'runs'))).toBe(false);
    } finally {
      process.chdir(prev);
    }
  });
});

describe('experiment runs', () => {
  it('same spec and seeds → identical results.jsonl; every line has a unique key; the report has every chart', async () => {
    const r = await loadSpec(writeSpec(specJson()));
    const a = await runExperiment(r, { root: mkdtempSync(join(tmpdir(), 'aimc-runA-')), workers: 1 });
    const b = await runExperiment(r, { root: mkdtempSync(join(tmpdir(), 'aimc-runB-')), workers: 2 });
    const fa = readFileSync(join(a.dir, 'results.jsonl'), 'utf8');
    expect(readFileSync(join(b.dir, 'results.jsonl'), 'utf8')).toBe(fa);
    const lines = readResults(join(a.dir, 'results.jsonl'));
    expect(new Set(lines.map((l) => l.key)).size).toBe(lines.length);
    // 3 trained adapters × (pcm ×1, pcm ×2, rram) × 2 trials × 2 times
    expect(lines.filter((l) => l.kind === 'result')).toHaveLength(3 * 3 * 2 * 2);
    expect(lines.filter((l) => l.kind === 'digital')).toHaveLength(3);
    expect(lines.filter((l) => l.kind === 'train')).toHaveLength(3);
    // Running again does nothing: every piece is cached or recorded.
    await runExperiment(r, { root: dirnameOf(a.dir), workers: 1 });
    expect(readFileSync(join(a.dir, 'results.jsonl'), 'utf8')).toBe(fa);
    const out = await buildReport(a.dir);
    const html = readFileSync(out.html, 'utf8');
    for (const id of [
      'time-pcm-nandakumar-2019',
      'time-rram-wan-2022',
      'scale-pcm-nandakumar-2019',
      'drop',
      'params',
      'devices',
      'budget',
      'energy',
    ])
      expect(html).toContain(`data-chart="${id}"`);
    // Each device's noise budget, as recorded on its device line: every source it has, then all.
    expect(html).toContain('<h3>Noise budget: pcm-nandakumar-2019</h3>');
    const pcmLine = readResults(join(a.dir, 'results.jsonl')).find(
      (l) => l.kind === 'device' && l.device === 'pcm-nandakumar-2019' && l.noiseScale === 1,
    )!;
    expect([...new Set((pcmLine.budget as { source: string }[]).map((b) => b.source))]).toEqual([
      'programming',
      'drift',
      'readNoise',
      'dac',
      'adc',
      'outputNoise',
      'all',
    ]);
    expect(html.match(/<svg/g)!.length).toBe(8);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(readFileSync(out.csv, 'utf8').trim().split('\n')).toHaveLength(1 + 36);
    // report.md: a time table per (device, scale), a scale table per time, the comparison.
    const md = readFileSync(out.markdown, 'utf8');
    expect(md.match(/^## .*after programming$/gm)).toHaveLength(3);
    expect(md.match(/^## .*vs noise scale at/gm)).toHaveLength(2);
    expect(md).toContain('## stochgrasp − grasp+hwa');
    const diffs = md
      .split('## stochgrasp − grasp+hwa')[1]!
      .split('\n')
      .filter((l) => /^\| (pcm|rram)/.test(l));
    expect(diffs).toHaveLength(3 * 2);
    expect(html).toContain('stochgrasp − grasp+hwa');
    // Two runs of 3 adapters on 3 devices, plus the device lines' noise budgets.
  }, 300_000);

  it('reuses adapters another experiment trained with the same settings, unless the plugin reads the deployment target', async () => {
    const root = mkdtempSync(join(tmpdir(), 'aimc-share-'));
    const first = await runExperiment(await loadSpec(writeSpec({ ...specJson('first'), trials: 1 })), { root, workers: 1 });
    expect(first.adapters.map((a) => a.source)).toEqual(['trained', 'trained', 'trained']);
    // Another target and horizon: GRASP does not read them, StochGRASP's σ_t does.
    const other = { ...specJson('second'), trials: 1, devices: [{ device: 'rram-wan-2022' }], times: ['1s', '1y'] };
    const second = await runExperiment(await loadSpec(writeSpec(other)), { root, workers: 1 });
    expect(second.adapters.map((a) => a.source)).toEqual(['copied', 'copied', 'trained']);
    for (const i of [0, 1]) {
      expect(readFileSync(join(second.adapters[i]!.dir, 'adapter.safetensors'))).toEqual(
        readFileSync(join(first.adapters[i]!.dir, 'adapter.safetensors')),
      );
    }
    // A retrained copy would be identical (training is deterministic): the train lines agree.
    const trainLines = (d: string) => readResults(join(d, 'results.jsonl')).filter((l) => l.kind === 'train' && l.adapter === 'grasp');
    expect(trainLines(second.dir)).toEqual(trainLines(first.dir));
    const again = await runExperiment(await loadSpec(writeSpec(other)), { root, workers: 1 });
    expect(again.adapters.map((a) => a.source)).toEqual(['recorded', 'recorded', 'recorded']);
  });

  it('resumes after a kill with no duplicate and no lost line', async () => {
    const spec = writeSpec(specJson('killed'));
    const cwdRef = mkdtempSync(join(tmpdir(), 'aimc-ref-'));
    const r = await loadSpec(spec);
    const ref = await runExperiment(r, { root: join(cwdRef, 'runs'), workers: 1 });
    const expected = readResults(join(ref.dir, 'results.jsonl'));
    const cwd = mkdtempSync(join(tmpdir(), 'aimc-kill-'));
    const results = join(cwd, 'runs', 'killed', 'results.jsonl');
    // Kill the CLI (SIGKILL, no chance to clean up) once a few result lines are on disk.
    await new Promise<void>((done, fail) => {
      const child = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'aimc.js'), 'experiment', 'run', spec, '--runs', join(cwd, 'runs'), '--workers', '1', '--no-report'],
        { cwd, stdio: 'ignore' },
      );
      const poll = setInterval(() => {
        if (
          existsSync(results) &&
          readFileSync(results, 'utf8')
            .split('\n')
            .filter((l) => l.includes('"kind":"result"')).length >= 5
        )
          child.kill('SIGKILL');
      }, 20);
      child.on('exit', (code, signal) => {
        clearInterval(poll);
        if (signal === 'SIGKILL') done();
        else fail(new Error(`the run ended by itself (code ${code}) before it could be killed`));
      });
    });
    const partial = readFileSync(results, 'utf8');
    expect(partial.split('\n').filter((l) => l.includes('"kind":"result"')).length).toBeLessThan(36);
    // A crash mid-write leaves a partial line: simulate one on top of the kill.
    writeFileSync(results, partial + '{"kind":"result","key":"half');
    // The killed run's lock names a process that is gone: the resume takes it over.
    expect(existsSync(join(cwd, 'runs', 'killed', '.lock'))).toBe(true);
    const again = await cli('experiment', 'run', spec, '--runs', join(cwd, 'runs'), '--workers', '1', '--no-report');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain(`run folder: ${join(cwd, 'runs', 'killed')}`);
    expect(existsSync(join(cwd, 'runs', 'killed', '.lock'))).toBe(false);
    const got = readResults(results);
    expect(new Set(got.map((l) => l.key)).size).toBe(got.length);
    const byKey = new Map(got.map((l) => [l.key, l]));
    expect(got.length).toBe(expected.length);
    for (const e of expected) expect(byKey.get(e.key)).toEqual(e);
  });
});

function dirnameOf(runDir: string): string {
  return resolve(runDir, '..');
}

describe('shipped specs', () => {
  it('every experiments/*.json validates against its schema, plugins, devices, model and task', async () => {
    const dir = resolve('experiments');
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'experiment.schema.json');
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const r = await loadSpec(join(dir, f));
      expect(r.spec.name, f).toBe(f.replace(/\.json$/, ''));
    }
  });

  it("claims-noise and tiles-irdrop train nothing of their own: every adapter's hash is one of claims-spam's (copied, not retrained)", async () => {
    const spam = new Set(trainJobs(await loadSpec(resolve('experiments/claims-spam.json'))).map((j) => j.hash));
    for (const [name, n] of [
      ['claims-noise', 12],
      ['tiles-irdrop', 2],
    ] as const) {
      const jobs = trainJobs(await loadSpec(resolve(`experiments/${name}.json`)));
      expect(jobs.length).toBe(n);
      for (const j of jobs) expect(spam.has(j.hash), `${name}: ${j.label} ${j.seed}`).toBe(true);
    }
  });
});
