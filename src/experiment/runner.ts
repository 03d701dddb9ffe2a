/**
 * Runs an experiment: expands the spec into training jobs (adapter × seed × HWA setting, each
 * trained once and cached under runs/NAME/adapters/) and deployment jobs (trained adapter ×
 * device × noise scale, trials × times), and appends every finished piece to
 * runs/NAME/results.jsonl. Trials of a job run in parallel but their lines are written in
 * trial order, so the same spec and seeds give the same file byte for byte.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployment, type DeploySpec, type TrialResult } from '../deploy/deployment.js';
import { runTrials } from '../deploy/trials.js';
import { DeviceModel } from '../device/model.js';
import { loadProfile, withNoiseScale } from '../device/profile.js';
import { parseDuration } from '../input/values.js';
import { runFinetune, trainOptionsOf } from '../train/finetune.js';
import { NonFiniteError } from '../input/finite.js';
import { resolveTraining, type ResolvedTraining, type TrainingSettings } from '../train/settings.js';
import { labelOf, withPlacement, type ExperimentSpec, type HwaSetting, type ResolvedSpec } from './spec.js';
import { ResultStore, type ResultLine } from './store.js';


export interface TrainJob {
  label: string;
  plugin: string;
  config: Record<string, unknown>;
  seed: string;
  hwa: HwaSetting;
  hwaKey: string;
  training: TrainingSettings;
  /** Where each training value came from (adapter entry, spec, plugin, aimc default). */
  trainingSources: ResolvedTraining['sources'];
  dir: string;
  /** Hash of everything the trained adapter depends on (cache validity). */
  hash: string;
}

export interface DeployJob {
  train: TrainJob;
  device: string;
  noiseScale: number;
  compensation?: boolean;
}

export interface RunProgress {
  phase: 'train' | 'deploy';
  done: number;
  total: number;
  label: string;
}

function hwaKeyOf(h: HwaSetting): string {
  return h ? `${h.device.replace(/^.*[\\/]/, '').replace(/\.json$/, '')}@${h.time ?? '1d'}` : 'none';
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._@-]+/g, '_');
}

/** The run folder of a spec. */
export function runDir(spec: ExperimentSpec, root = 'runs'): string {
  return join(root, spec.name);
}

/** Expand a spec into training jobs (spec order: adapter, then seed, then HWA setting). */
export function trainJobs(r: ResolvedSpec, root = 'runs'): TrainJob[] {
  const { spec } = r;
  const out: TrainJob[] = [];
  for (const a of spec.adapters) {
    const config = withPlacement(a.config ?? {}, spec.placement, r.plugins.get(a.plugin)!);
    const label0 = labelOf(a);
    const { settings: training, sources: trainingSources } = resolveTraining(
      [
        { source: `adapter '${label0}' training`, values: a.training ?? {} },
        { source: 'spec training', values: spec.training ?? {} },
      ],
      r.plugins.get(a.plugin)!.plugin,
    );
    for (const seed of spec.seeds ?? ['s1']) {
      for (const hwa of a.hwa ?? [false]) {
        const label = labelOf(a);
        const hwaKey = hwaKeyOf(hwa);
        // The deployment target enters only for plugins that may read it (StochGRASP's σ_t), so
        // other adapters trained by another experiment with the same settings can be reused.
        const target = r.plugins.get(a.plugin)!.plugin.readsDeployment === false ? null : { target: spec.devices[0]!.device, horizon: r.times[r.times.length - 1] };
        const hash = createHash('sha256').update(JSON.stringify({ model: spec.model, task: spec.task, plugin: a.plugin, config, training, seed, hwa, ...target })).digest('hex').slice(0, 16);
        out.push({ label, plugin: a.plugin, config, seed, hwa, hwaKey, training, trainingSources, hash, dir: join(runDir(spec, root), 'adapters', slug(`${label}--${hwaKey}--${seed}`)) });
      }
    }
  }
  return out;
}

/** Expand into deployment jobs (training job, then device, then noise scale). */
export function deployJobs(r: ResolvedSpec, jobs: TrainJob[]): DeployJob[] {
  return jobs.flatMap((train) => r.spec.devices.flatMap((d) => (d.noiseScales ?? [1]).map((noiseScale) => ({ train, device: d.device, noiseScale, ...(d.compensation === undefined ? {} : { compensation: d.compensation }) }))));
}

function keyOf(parts: (string | number | boolean | undefined)[]): string {
  return parts.map((p) => String(p ?? '')).join('|');
}

function deploySpecOf(r: ResolvedSpec, j: DeployJob): DeploySpec {
  const ev = r.spec.evaluation ?? {};
  return {
    model: r.spec.model,
    adapter: j.train.dir,
    task: r.spec.task,
    device: j.device,
    noiseScale: j.noiseScale,
    times: r.times,
    ...(j.compensation === undefined ? {} : { compensate: j.compensation }),
    split: ev.split ?? 'test',
    ...(ev.limit ? { evalLimit: ev.limit } : {}),
    seqLen: ev.seq ?? j.train.training.seq,
    batchSize: ev.batch ?? 32,
    seed: `${r.spec.name}/${j.train.seed}`,
  };
}

/** Hash recorded in an adapter folder's job.json, or null when the folder is incomplete. */
function stampedHash(dir: string): string | null {
  const stamp = join(dir, 'job.json');
  if (!existsSync(stamp) || !existsSync(join(dir, 'adapter_config.json'))) return null;
  try {
    return (JSON.parse(readFileSync(stamp, 'utf8')) as { hash?: string }).hash ?? null;
  } catch {
    return null;
  }
}

/** A finished adapter with this hash in another experiment under `root`, if any. */
function trainedElsewhere(root: string, j: TrainJob): string | null {
  if (!existsSync(root)) return null;
  for (const run of readdirSync(root, { withFileTypes: true })) {
    if (!run.isDirectory()) continue;
    const adapters = join(root, run.name, 'adapters');
    if (!existsSync(adapters)) continue;
    for (const a of readdirSync(adapters)) {
      const dir = join(adapters, a);
      if (resolve(dir) !== resolve(j.dir) && stampedHash(dir) === j.hash) return dir;
    }
  }
  return null;
}

/** Train one adapter, or reuse it: from this run's folder, else copied from another experiment's. */
async function train(r: ResolvedSpec, j: TrainJob, root: string, onStep?: (step: number) => void): Promise<'cached' | 'copied' | 'trained'> {
  const stamp = join(j.dir, 'job.json');
  if (stampedHash(j.dir) === j.hash) return 'cached';
  const other = trainedElsewhere(root, j);
  if (other) {
    rmSync(j.dir, { recursive: true, force: true });
    // job.json last, as after training: an interrupted copy is redone.
    cpSync(other, j.dir, { recursive: true, filter: (src) => !src.endsWith('job.json') });
    copyFileSync(join(other, 'job.json'), stamp);
    return 'copied';
  }
  await runFinetune({
    model: r.spec.model,
    data: r.data,
    plugin: r.plugins.get(j.plugin)!,
    config: j.config,
    configSource: `${r.file} (${j.label})`,
    hwa: j.hwa ? { device: j.hwa.device, t: parseDuration(String(j.hwa.time ?? '1d'), 'hwa time'), ...(j.hwa.periphery === undefined ? {} : { periphery: j.hwa.periphery }) } : null,
    // Noise-aware plugins target the first deployment device at the longest time, unless configured otherwise.
    horizon: r.times[r.times.length - 1]!,
    targetDevice: r.spec.devices[0]!.device,
    train: { ...trainOptionsOf(j.training), seed: j.seed },
    settings: { settings: j.training, sources: j.trainingSources },
    out: j.dir,
    ...(onStep ? { onProgress: (p) => onStep(p.step) } : {}),
  });
  // Written last: an adapter folder without it is retrained.
  writeFileSync(stamp, JSON.stringify({ hash: j.hash, label: j.label, seed: j.seed, hwa: j.hwa }, null, 2) + '\n');
  return 'trained';
}

function trainSummary(j: TrainJob): { counts: Record<string, number>; dev: Record<string, number>; test: Record<string, number>; mainMetric: string; placement: string } {
  return JSON.parse(readFileSync(join(j.dir, 'finetune.json'), 'utf8')) as ReturnType<typeof trainSummary>;
}

/** Run (or resume) an experiment. */
export async function runExperiment(
  r: ResolvedSpec,
  o: { root?: string; workers?: number; onProgress?: (p: RunProgress) => void } = {},
): Promise<{ dir: string; store: ResultStore; adapters: { dir: string; source: 'cached' | 'copied' | 'trained' }[] }> {
  const { spec } = r;
  const dir = runDir(spec, o.root);
  const store = ResultStore.open(join(dir, 'results.jsonl'));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec, null, 2) + '\n');
  if (existsSync(r.file)) copyFileSync(r.file, join(dir, 'spec.source.json'));
  const tjobs = trainJobs(r, o.root);
  const djobs = deployJobs(r, tjobs);
  const trials = Array.from({ length: spec.trials }, (_, i) => i);
  const adapters: { dir: string; source: 'cached' | 'copied' | 'trained' }[] = [];

  for (const [i, j] of tjobs.entries()) {
    const label = `${j.label} ${j.seed} ${j.hwaKey}`;
    o.onProgress?.({ phase: 'train', done: i, total: tjobs.length, label });
    const source = await train(r, j, o.root ?? 'runs', (step) => o.onProgress?.({ phase: 'train', done: i, total: tjobs.length, label: `${label}: step ${step}/${j.training.steps}` }));
    adapters.push({ dir: j.dir, source });
    const base = { adapter: j.label, plugin: j.plugin, seed: j.seed, hwa: j.hwaKey };
    const s = trainSummary(j);
    store.append([{ kind: 'train', key: keyOf(['train', j.label, j.seed, j.hwaKey]), ...base, config: j.config, placement: s.placement, counts: s.counts, metric: s.mainMetric, dev: s.dev }]);
    const dKey = keyOf(['digital', j.label, j.seed, j.hwaKey]);
    if (!store.has(dKey)) {
      const dep = await Deployment.load(deploySpecOf(r, djobs.find((d) => d.train === j)!));
      try {
        const m = dep.digital();
        store.append([{ kind: 'digital', key: dKey, ...base, metric: dep.main.name, higherIsBetter: dep.main.higherIsBetter, value: m[dep.main.name]!, metrics: m }]);
      } finally {
        dep.dispose();
      }
    }
  }
  o.onProgress?.({ phase: 'train', done: tjobs.length, total: tjobs.length, label: '' });

  let done = 0;
  const total = djobs.length * trials.length;
  for (const j of djobs) {
    const ds = deploySpecOf(r, j);
    const devKey = keyOf(['device', j.device, j.noiseScale, j.compensation]);
    if (!store.has(devKey)) {
      const dev = new DeviceModel(withNoiseScale(loadProfile(j.device), j.noiseScale));
      const compensate = j.compensation ?? dev.driftCompensation;
      const rwn = r.times.map((t) => ({ t, value: dev.relativeWeightNoise(t, { compensate }) }));
      for (const x of rwn) if (!Number.isFinite(x.value)) throw new NonFiniteError([`t = ${x.t} s`, `device ${j.device} ×${j.noiseScale}`], `the relative weight noise is ${x.value}`);
      store.append([{ kind: 'device', key: devKey, device: j.device, name: dev.name, noiseScale: j.noiseScale, compensation: compensate, relativeWeightNoise: rwn, cost: { ...dev.cost }, tile: { ...dev.tile } }]);
    }
    const base = { adapter: j.train.label, plugin: j.train.plugin, seed: j.train.seed, hwa: j.train.hwaKey, device: j.device, noiseScale: j.noiseScale };
    const resultKey = (trial: number, t: number) => keyOf(['result', j.train.label, j.train.seed, j.train.hwaKey, j.device, j.noiseScale, j.compensation, t, trial]);
    const todo = trials.filter((trial) => r.times.some((t) => !store.has(resultKey(trial, t))));
    const costKey = keyOf(['cost', j.train.label, j.train.seed, j.train.hwaKey, j.device, j.noiseScale]);
    if (!todo.length && store.has(costKey)) {
      done += trials.length;
      continue;
    }
    const dep = await Deployment.load(ds);
    try {
      if (!store.has(costKey)) store.append([{ kind: 'cost', key: costKey, ...base, placement: dep.adapter?.adapter.placement ?? 'none', ...dep.cost() }]);
      const digital = store.lines.find((l) => l.key === keyOf(['digital', j.train.label, j.train.seed, j.train.hwaKey]))?.value;
      done += trials.length - todo.length;
      // Trials finish in any order; lines are written in trial order as soon as possible.
      const finished = new Map<number, TrialResult[]>();
      let next = 0;
      const flush = () => {
        while (next < todo.length && finished.has(todo[next]!)) {
          const rs = finished.get(todo[next]!)!;
          store.append(rs.map((x): ResultLine => ({ kind: 'result', key: resultKey(x.trial, x.t), ...base, t: x.t, trial: x.trial, metric: dep.main.name, value: x.metrics[dep.main.name]!, digital, metrics: x.metrics })));
          next++;
        }
      };
      await runTrials(ds, todo, {
        ...((o.workers ?? spec.workers) ? { workers: (o.workers ?? spec.workers)! } : {}),
        local: dep,
        onTrial: (rs) => {
          finished.set(rs[0]!.trial, rs);
          flush();
          o.onProgress?.({ phase: 'deploy', done: ++done, total, label: `${j.train.label} on ${j.device}×${j.noiseScale}` });
        },
      });
    } finally {
      dep.dispose();
    }
  }
  o.onProgress?.({ phase: 'deploy', done: total, total, label: '' });
  return { dir, store, adapters };
}
