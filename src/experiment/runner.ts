/**
 * Runs an experiment: expands the spec into training jobs (adapter × seed × HWA setting, each
 * trained once and cached under runs/NAME/adapters/) and deployment jobs (trained adapter ×
 * device × noise scale, trials × times), and appends every finished piece to
 * runs/NAME/results.jsonl. Trials of a job run in parallel but their lines are written in
 * trial order, so the same spec and seeds give the same file byte for byte.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { deviceFingerprint, modelFingerprint, pluginFingerprint, shortHash, taskFingerprint } from './fingerprint.js';
import { Deployment, type DeploySpec, type TrialResult } from '../deploy/deployment.js';
import { runTrials } from '../deploy/trials.js';
import { DeviceModel } from '../device/model.js';
import { deploymentProfile, nameAtTemperature, nameWithTile, parseTemperature } from '../device/profile.js';
import { relativeWeightNoise } from '../crossbar/mapping.js';
import { noiseBudget } from '../crossbar/noise-budget.js';

/** Input vectors and trials of the noise budget a device line carries (it ranks sources; `aimc tile error` measures them). */
const BUDGET_SAMPLES = 32;
const BUDGET_TRIALS = 2;
import { findUp } from '../input/package-root.js';
import { parseDuration } from '../input/values.js';
import { runTrainTask, type TrainTask } from './train-task.js';
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
  /** Profile name or file. */
  device: string;
  /** The device's name in results and keys: the profile, `profile@512x512` on other tiles, `…@85C` read at a temperature. */
  label: string;
  noiseScale: number;
  compensation?: boolean;
  /** Read temperature, K (absent: the profile's own). */
  temperature?: number;
  /** Tile size in weights (absent: the profile's own). */
  tile?: { rows: number; cols: number };
}

export interface RunProgress {
  phase: 'train' | 'deploy';
  done: number;
  total: number;
  label: string;
}

/**
 * The HWA setting's name in folders and result keys: the profile's file name and the time —
 * with a content hash when two different profiles of the spec share a file name.
 */
function hwaKeyOf(h: HwaSetting, r: ResolvedSpec): string {
  if (!h) return 'none';
  const base = (d: string) => d.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  const others = r.spec.adapters.flatMap((a) => (a.hwa ?? []).filter((x): x is Exclude<HwaSetting, false> => !!x)).map((x) => x.device);
  const clash = others.some((d) => base(d) === base(h.device) && deviceFingerprint(d) !== deviceFingerprint(h.device));
  return `${base(h.device)}${clash ? `~${deviceFingerprint(h.device).slice(0, 8)}` : ''}@${h.time ?? '1d'}`;
}

/** Folder-safe name; labels and seeds are restricted to such characters by the schema, so this is one-to-one on them. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._@~-]+/g, '_');
}

/** The run folder of a spec under a runs root. */
export function runDir(spec: ExperimentSpec, root = 'runs'): string {
  return join(root, spec.name);
}

/**
 * Where runs go when no --runs is given: `runs/` in the nearest folder above the spec that
 * holds a package.json or .git (the project the spec belongs to), else beside the spec —
 * never the current directory, so a resume from elsewhere finds the same run.
 */
export function defaultRunsRoot(specFile: string): string {
  const dir = dirname(resolve(specFile));
  const project = findUp(dir, (d) => existsSync(join(d, 'package.json')) || existsSync(join(d, '.git')));
  return join(project ?? dir, 'runs');
}

/** Expand a spec into training jobs (spec order: adapter, then seed, then HWA setting). */
export function trainJobs(r: ResolvedSpec, root = defaultRunsRoot(r.file)): TrainJob[] {
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
        const hwaKey = hwaKeyOf(hwa, r);
        // The deployment target enters only for plugins that may read it (StochGRASP's σ_t), so
        // other adapters trained by another experiment with the same settings can be reused.
        const plugin = r.plugins.get(a.plugin)!;
        const reads = plugin.plugin.readsDeployment !== false;
        const target = reads ? { target: deviceFingerprint(spec.devices[0]!.device), horizon: r.times[r.times.length - 1] } : null;
        // Content, not paths: the model's files, the task's data, the plugin's code, the HWA device's profile.
        const fp = { model: modelFingerprint(spec.model), task: taskFingerprint(spec.task), plugin: pluginFingerprint(plugin) };
        const hwaFp = hwa ? { ...hwa, device: deviceFingerprint(hwa.device) } : false;
        const hash = createHash('sha256')
          .update(JSON.stringify({ ...fp, config, training, seed, hwa: hwaFp, ...target }))
          .digest('hex')
          .slice(0, 16);
        const dir = join(runDir(spec, root), 'adapters', slug(`${label}--${hwaKey}--${seed}`));
        out.push({ label, plugin: a.plugin, config, seed, hwa, hwaKey, training, trainingSources, hash, dir });
      }
    }
  }
  return out;
}

/** Expand into deployment jobs (training job, then device, then noise scale). */
export function deployJobs(r: ResolvedSpec, jobs: TrainJob[]): DeployJob[] {
  return jobs.flatMap((train) =>
    r.spec.devices.flatMap((d, i) => {
      const T = d.temperature === undefined ? undefined : parseTemperature(d.temperature, `/devices/${i}/temperature`);
      const sized = d.tile ? nameWithTile(d.device, d.tile) : d.device;
      const label = T === undefined ? sized : nameAtTemperature(sized, T);
      return (d.noiseScales ?? [1]).map((noiseScale) => ({
        train,
        device: d.device,
        label,
        noiseScale,
        ...(d.compensation === undefined ? {} : { compensation: d.compensation }),
        ...(T === undefined ? {} : { temperature: T }),
        ...(d.tile ? { tile: { rows: d.tile.rows, cols: d.tile.cols } } : {}),
      }));
    }),
  );
}

function keyOf(parts: (string | number | boolean | undefined)[]): string {
  return parts.map((p) => String(p ?? '')).join('|');
}

/** The key of each kind of results.jsonl line: one definition for the runner and the provenance check. */
const lineKey = {
  train: (j: TrainJob) => keyOf(['train', j.label, j.seed, j.hwaKey]),
  digital: (j: TrainJob) => keyOf(['digital', j.label, j.seed, j.hwaKey]),
  device: (j: DeployJob) => keyOf(['device', j.label, j.noiseScale, j.compensation]),
  cost: (j: DeployJob) => keyOf(['cost', j.train.label, j.train.seed, j.train.hwaKey, j.label, j.noiseScale]),
  result: (j: DeployJob, t: number, trial: number) =>
    keyOf(['result', j.train.label, j.train.seed, j.train.hwaKey, j.label, j.noiseScale, j.compensation, t, trial]),
};

function deploySpecOf(r: ResolvedSpec, j: DeployJob): DeploySpec {
  const ev = r.spec.evaluation ?? {};
  return {
    model: r.spec.model,
    adapter: j.train.dir,
    task: r.spec.task,
    device: j.device,
    noiseScale: j.noiseScale,
    ...(j.temperature === undefined ? {} : { temperature: j.temperature }),
    ...(j.tile ? { tile: j.tile } : {}),
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

/** The training job as plain data: what the local runner trains, and what a queue sends a worker. */
export function trainTaskOf(r: ResolvedSpec, j: TrainJob): TrainTask {
  return {
    hash: j.hash,
    label: j.label,
    seed: j.seed,
    model: r.spec.model,
    task: r.spec.task,
    plugin: j.plugin,
    config: j.config,
    configSource: `${r.file} (${j.label})`,
    hwa: j.hwa,
    hwaTime: j.hwa ? parseDuration(String(j.hwa.time ?? '1d'), 'hwa time') : null,
    // Noise-aware plugins target the first deployment device at the longest time, unless configured otherwise.
    horizon: r.times[r.times.length - 1]!,
    targetDevice: r.spec.devices[0]!.device,
    training: j.training,
    trainingSources: j.trainingSources,
  };
}

/** Reuse adapter j if it exists: in this run's folder ('cached'), else copied from another experiment's; null when it must be trained. */
export function reuseAdapter(j: TrainJob, root: string): 'cached' | 'copied' | null {
  const stamp = join(j.dir, 'job.json');
  if (stampedHash(j.dir) === j.hash) return 'cached';
  const other = trainedElsewhere(root, j);
  if (!other) return null;
  rmSync(j.dir, { recursive: true, force: true });
  // job.json last, as after training: an interrupted copy is redone.
  cpSync(other, j.dir, { recursive: true, filter: (src) => !src.endsWith('job.json') });
  copyFileSync(join(other, 'job.json'), stamp);
  return 'copied';
}

/**
 * How a run came by an adapter: trained, reused from this run's folder ('cached'), copied from
 * another experiment's, or not needed ('recorded': every line that depends on it is already in
 * results.jsonl, so a resumed run needs neither its weights nor its training).
 */
export type AdapterSource = 'cached' | 'copied' | 'trained' | 'recorded';

/** What runExperiment returns: the run folder, its results, and how each adapter was obtained. */
export interface RunOutcome {
  dir: string;
  store: ResultStore;
  adapters: { dir: string; source: AdapterSource }[];
  discarded: number;
}

/** Train one adapter, or reuse it: from this run's folder, else copied from another experiment's. */
async function train(
  r: ResolvedSpec,
  j: TrainJob,
  root: string,
  onStep?: (step: number) => void,
): Promise<Exclude<AdapterSource, 'recorded'>> {
  const reused = reuseAdapter(j, root);
  if (reused) return reused;
  await runTrainTask(trainTaskOf(r, j), j.dir, { data: r.data, plugin: r.plugins.get(j.plugin)! }, onStep);
  return 'trained';
}

/**
 * Where an experiment's jobs run. The runner owns the order of results.jsonl; an executor
 * only makes adapters exist and runs trials, in any order and anywhere: on this machine
 * (piscina worker threads) or on queue workers (src/queue/).
 */
export interface RunExecutor {
  /** Called once with every job of the run, before any is awaited (a queue enqueues here). */
  begin?(ctx: RunContext): Promise<void>;
  /** Make adapter j exist in j.dir: reused, or trained. */
  train(j: TrainJob, onStep: (step: number) => void): Promise<Exclude<AdapterSource, 'recorded'>>;
  /** Run trials `todo` of deployment job j (spec ds; `local` is loaded here): onTrial as each finishes, onFail for one that cannot. */
  trials(
    j: DeployJob,
    ds: DeploySpec,
    todo: number[],
    local: Deployment,
    on: { trial: (rs: TrialResult[]) => void; fail: (trial: number, error: Error) => void },
  ): Promise<void>;
  /** Called once when the run is over (or failed). */
  end?(): Promise<void>;
}

export interface RunContext {
  r: ResolvedSpec;
  root: string;
  tjobs: TrainJob[];
  djobs: DeployJob[];
  store: ResultStore;
  deploySpec: (j: DeployJob) => DeploySpec;
  /** Whether every result line of deployment job j is recorded. */
  deployDone: (j: DeployJob) => boolean;
  /** Whether every line that depends on adapter j is recorded (it need not exist, nor be trained). */
  trainDone: (j: TrainJob) => boolean;
  /** Trials of deployment job j with a result line missing. */
  trialsTodo: (j: DeployJob) => number[];
}

/** A job that failed for good on a queue (after its retries): the run goes on without it. */
export class JobFailedError extends Error {
  constructor(
    readonly job: string,
    readonly reason: string,
  ) {
    super(`${job}: ${reason}`);
    this.name = 'JobFailedError';
  }
}

/** The run finished everything it could; these jobs failed (their lines are missing; a rerun retries them). */
export class JobsFailedError extends Error {
  constructor(readonly failures: JobFailedError[]) {
    super(
      `${failures.length} job(s) failed; the rest of the experiment is recorded (rerun to retry them):\n${failures.map((f) => `  ${f.message}`).join('\n')}`,
    );
    this.name = 'JobsFailedError';
  }
}

/** The default executor: training in this process, trials on piscina worker threads. */
function localExecutor(r: ResolvedSpec, root: string, workers: number | undefined): RunExecutor {
  return {
    train: (j, onStep) => train(r, j, root, onStep),
    trials: (_j, ds, todo, local, on) =>
      runTrials(ds, todo, { ...(workers ? { workers } : {}), local, onTrial: on.trial }).then(() => undefined),
  };
}

/** What the runner records of an adapter's finetune.json. */
interface TrainSummary {
  counts: Record<string, number>;
  dev: Record<string, number>;
  test: Record<string, number>;
  mainMetric: string;
  placement: string;
}

function trainSummary(j: TrainJob): TrainSummary {
  return JSON.parse(readFileSync(join(j.dir, 'finetune.json'), 'utf8')) as ReturnType<typeof trainSummary>;
}

/** Hash of a deployment target: the profile's content, the noise scale, compensation. */
function deviceHashOf(j: DeployJob): string {
  const hot = j.temperature === undefined ? {} : { temperature: j.temperature };
  const sized = j.tile ? { tile: j.tile } : {};
  return shortHash(
    JSON.stringify({
      device: deviceFingerprint(j.device),
      noiseScale: j.noiseScale,
      compensation: j.compensation ?? null,
      ...hot,
      ...sized,
    }),
  );
}

/** Hash of the evaluation settings a deployment's metrics depend on (beyond model, adapter and device). */
function evalHashOf(r: ResolvedSpec, j: DeployJob): string {
  const d = deploySpecOf(r, j);
  return shortHash(JSON.stringify({ split: d.split, limit: d.evalLimit ?? null, seq: d.seqLen, batch: d.batchSize, seed: d.seed }));
}

/** Hash of the times a device line tabulates its relative weight noise at. */
function timesHashOf(r: ResolvedSpec): string {
  return shortHash(JSON.stringify(r.times));
}

/** What each line of results.jsonl must have been computed from, by key, for the current spec. */
function expectedProvenance(r: ResolvedSpec, tjobs: TrainJob[], djobs: DeployJob[]): Map<string, string> {
  const out = new Map<string, string>();
  const p = (job: string | null, device: string | null, ev: string | null) => JSON.stringify([job, device, ev]);
  for (const j of tjobs) {
    out.set(lineKey.train(j), p(j.hash, null, null));
    out.set(
      lineKey.digital(j),
      p(
        j.hash,
        null,
        evalHashOf(
          r,
          djobs.find((d) => d.train === j)!,
        ),
      ),
    );
  }
  for (const j of djobs) {
    const dh = deviceHashOf(j);
    const ev = evalHashOf(r, j);
    // The device line tabulates its relative weight noise at the spec's times.
    out.set(lineKey.device(j), p(null, dh, timesHashOf(r)));
    out.set(lineKey.cost(j), p(j.train.hash, dh, null));
    for (let trial = 0; trial < r.spec.trials; trial++) {
      for (const t of r.times) out.set(lineKey.result(j, t, trial), p(j.train.hash, dh, ev));
    }
  }
  return out;
}

/** A run folder holds results that the spec as it is now would not produce. */
export class StaleResultsError extends Error {
  constructor(
    readonly dir: string,
    readonly stale: ResultLine[],
  ) {
    const byKind = new Map<string, number>();
    for (const l of stale) byKind.set(l.kind, (byKind.get(l.kind) ?? 0) + 1);
    const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(', ');
    const examples = stale
      .slice(0, 3)
      .map((l) => `  ${l.key}`)
      .join('\n');
    super(
      `${dir}: ${stale.length} recorded lines (${kinds}) do not hold for the spec as it is now — ` +
        'its settings, or the content of its model, task, device or plugin files, changed since they were written, ' +
        `or they are no longer asked for:\n${examples}${stale.length > 3 ? '\n  …' : ''}\n` +
        'Give the experiment a new "name" to keep both, ' +
        'or rerun with --discard-stale to drop exactly these lines (what they measured is recomputed).',
    );
    this.name = 'StaleResultsError';
  }
}

/**
 * A lock on a run folder: a second `experiment run` of the same experiment while one is in
 * progress would write duplicate keys. A lock left by a killed run (its process is gone) is
 * taken over.
 */
export function lockRun(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, '.lock');
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx' });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let other: { pid?: number; host?: string; since?: string } = {};
      try {
        other = JSON.parse(readFileSync(file, 'utf8')) as typeof other;
      } catch {
        // unreadable: treat as stale
      }
      const alive = other.host === hostname() && typeof other.pid === 'number' && processAlive(other.pid);
      if (alive || (other.host && other.host !== hostname())) {
        throw new Error(
          `${dir}: another run of this experiment is in progress ` +
            `(pid ${other.pid ?? '?'} on ${other.host ?? '?'} since ${other.since ?? '?'}); ` +
            'wait for it to finish, or stop it — two runs would record the same results twice',
        );
      }
      unlinkSync(file); // its process is gone: a killed run's lock
    }
  }
  throw new Error(`${dir}: could not take the run lock`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RunOptions {
  root?: string;
  workers?: number;
  discardStale?: boolean;
  onProgress?: (p: RunProgress) => void;
  /** Where jobs run (default: this machine); given the run's context, e.g. a queue coordinator. */
  executor?: (root: string) => RunExecutor;
}

/** Run (or resume) an experiment. */
export async function runExperiment(r: ResolvedSpec, o: RunOptions = {}): Promise<RunOutcome> {
  const { spec } = r;
  const root = o.root ?? defaultRunsRoot(r.file);
  const dir = runDir(spec, root);
  const release = lockRun(dir);
  try {
    return await runLocked(r, { ...o, root }, dir);
  } finally {
    release();
  }
}

async function runLocked(r: ResolvedSpec, o: RunOptions & { root: string }, dir: string): Promise<RunOutcome> {
  const { spec } = r;
  const tjobs = trainJobs(r, o.root);
  const djobs = deployJobs(r, tjobs);
  let store = ResultStore.open(join(dir, 'results.jsonl'));
  // Every recorded line must be what this spec would compute now; anything else is refused
  // (or, when asked, dropped) before any work, so a report never mixes two experiments.
  const expected = expectedProvenance(r, tjobs, djobs);
  const provenance = (l: ResultLine) => JSON.stringify([l.job ?? null, l.deviceHash ?? null, l.eval ?? null]);
  const stale = store.lines.filter((l) => expected.get(l.key) !== provenance(l));
  let discarded = 0;
  if (stale.length) {
    if (!o.discardStale) throw new StaleResultsError(dir, stale);
    store = store.rewrite(store.lines.filter((l) => expected.get(l.key) === provenance(l)));
    discarded = stale.length;
  }
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec, null, 2) + '\n');
  if (existsSync(r.file)) copyFileSync(r.file, join(dir, 'spec.source.json'));
  writeFileSync(
    join(dir, 'fingerprint.json'),
    JSON.stringify(
      {
        model: modelFingerprint(spec.model),
        task: taskFingerprint(spec.task),
        devices: Object.fromEntries(spec.devices.map((d) => [d.device, deviceFingerprint(d.device)])),
        plugins: Object.fromEntries([...r.plugins].map(([n, p]) => [n, pluginFingerprint(p)])),
        adapters: Object.fromEntries(tjobs.map((j) => [`${j.label}|${j.seed}|${j.hwaKey}`, j.hash])),
      },
      null,
      2,
    ) + '\n',
  );
  const trials = Array.from({ length: spec.trials }, (_, i) => i);
  const adapters: RunOutcome['adapters'] = [];
  const exec = o.executor ? o.executor(o.root) : localExecutor(r, o.root, o.workers ?? spec.workers);
  const trialsTodo = (j: DeployJob) => trials.filter((trial) => r.times.some((t) => !store.has(lineKey.result(j, t, trial))));
  const deployDone = (j: DeployJob) => store.has(lineKey.cost(j)) && trialsTodo(j).length === 0;
  const trainDone = (j: TrainJob) =>
    store.has(lineKey.train(j)) && store.has(lineKey.digital(j)) && djobs.every((d) => d.train !== j || deployDone(d));
  await exec.begin?.({
    r,
    root: o.root,
    tjobs,
    djobs,
    store,
    deploySpec: (j) => deploySpecOf(r, j),
    deployDone,
    trainDone,
    trialsTodo,
  });
  try {
    return await runJobs(r, o, dir, exec, { tjobs, djobs, store, trials, adapters, discarded, trialsTodo, trainDone });
  } finally {
    await exec.end?.();
  }
}

async function runJobs(
  r: ResolvedSpec,
  o: RunOptions & { root: string },
  dir: string,
  exec: RunExecutor,
  run: {
    tjobs: TrainJob[];
    djobs: DeployJob[];
    store: ResultStore;
    trials: number[];
    adapters: RunOutcome['adapters'];
    discarded: number;
    trialsTodo: (j: DeployJob) => number[];
    trainDone: (j: TrainJob) => boolean;
  },
): Promise<RunOutcome> {
  const { tjobs, djobs, store, trials, adapters, discarded } = run;
  // Jobs that failed for good on a queue: the run records everything else, then reports them.
  const failures: JobFailedError[] = [];
  const failedTrain = new Set<TrainJob>();
  for (const [i, j] of tjobs.entries()) {
    const label = `${j.label} ${j.seed} ${j.hwaKey}`;
    o.onProgress?.({ phase: 'train', done: i, total: tjobs.length, label });
    if (run.trainDone(j)) {
      adapters.push({ dir: j.dir, source: 'recorded' });
      continue;
    }
    const onStep = (step: number) =>
      o.onProgress?.({ phase: 'train', done: i, total: tjobs.length, label: `${label}: step ${step}/${j.training.steps}` });
    let source: Exclude<AdapterSource, 'recorded'>;
    try {
      source = await exec.train(j, onStep);
    } catch (e) {
      if (!(e instanceof JobFailedError)) throw e;
      failures.push(e);
      failedTrain.add(j);
      continue;
    }
    adapters.push({ dir: j.dir, source });
    const base = { adapter: j.label, plugin: j.plugin, seed: j.seed, hwa: j.hwaKey };
    const s = trainSummary(j);
    const summary = { placement: s.placement, counts: s.counts, metric: s.mainMetric, dev: s.dev };
    store.append([{ kind: 'train', key: lineKey.train(j), ...base, job: j.hash, config: j.config, ...summary }]);
    const dKey = lineKey.digital(j);
    if (!store.has(dKey)) {
      const dj = djobs.find((d) => d.train === j)!;
      const dep = await Deployment.load(deploySpecOf(r, dj));
      try {
        const m = dep.digital();
        const main = { metric: dep.main.name, higherIsBetter: dep.main.higherIsBetter, value: m[dep.main.name]! };
        store.append([{ kind: 'digital', key: dKey, ...base, job: j.hash, eval: evalHashOf(r, dj), ...main, metrics: m }]);
      } finally {
        dep.dispose();
      }
    }
  }
  o.onProgress?.({ phase: 'train', done: tjobs.length, total: tjobs.length, label: '' });

  let done = 0;
  const total = djobs.length * trials.length;
  for (const j of djobs) {
    if (failedTrain.has(j.train)) continue;
    const ds = deploySpecOf(r, j);
    const devKey = lineKey.device(j);
    if (!store.has(devKey)) {
      const dev = new DeviceModel(deploymentProfile(j.device, j));
      const compensate = j.compensation ?? dev.driftCompensation;
      const rwn = r.times.map((t) => ({ t, value: relativeWeightNoise(dev, t, { compensate }) }));
      // The device's noise budget at the spec's times (one tile, random weights and inputs),
      // for the report: small samples, as it only ranks the sources.
      const budgetProfile =
        compensate === dev.driftCompensation
          ? dev.profile
          : { ...dev.profile, driftCompensation: { ...dev.profile.driftCompensation, enabled: compensate } };
      const budget = (j.noiseScale === 1 ? r.times : []).flatMap((t) =>
        noiseBudget(budgetProfile, { t, samples: BUDGET_SAMPLES, trials: BUDGET_TRIALS, seed: `${r.spec.name}/budget` }).map((l) => ({
          t,
          ...l,
        })),
      );
      for (const x of rwn) {
        if (!Number.isFinite(x.value)) {
          throw new NonFiniteError([`t = ${x.t} s`, `device ${j.label} ×${j.noiseScale}`], `the relative weight noise is ${x.value}`);
        }
      }
      store.append([
        {
          kind: 'device',
          key: devKey,
          deviceHash: deviceHashOf(j),
          eval: timesHashOf(r),
          device: j.label,
          ...(j.temperature === undefined && !j.tile ? {} : { profile: j.device }),
          ...(j.temperature === undefined ? {} : { temperature: j.temperature }),
          name: dev.name,
          noiseScale: j.noiseScale,
          compensation: compensate,
          relativeWeightNoise: rwn,
          ...(budget.length ? { budget } : {}),
          cost: { ...dev.cost },
          tile: { ...dev.tile },
        },
      ]);
    }
    const tj = j.train;
    const base = { adapter: tj.label, plugin: tj.plugin, seed: tj.seed, hwa: tj.hwaKey, device: j.label, noiseScale: j.noiseScale };
    const todo = run.trialsTodo(j);
    const costKey = lineKey.cost(j);
    if (!todo.length && store.has(costKey)) {
      done += trials.length;
      continue;
    }
    const dh = deviceHashOf(j);
    const ev = evalHashOf(r, j);
    const dep = await Deployment.load(ds);
    try {
      if (!store.has(costKey)) {
        const placement = dep.adapter?.adapter.placement ?? 'none';
        store.append([{ kind: 'cost', key: costKey, ...base, job: tj.hash, deviceHash: dh, placement, ...dep.cost() }]);
      }
      const digital = store.lines.find((l) => l.key === lineKey.digital(tj))?.value;
      done += trials.length - todo.length;
      // Trials finish in any order; lines are written in trial order as soon as possible (a
      // trial that failed for good on a queue is skipped: null).
      const finished = new Map<number, TrialResult[] | null>();
      let next = 0;
      const flush = () => {
        while (next < todo.length && finished.has(todo[next]!)) {
          const rs = finished.get(todo[next]!)!;
          next++;
          if (!rs) continue;
          store.append(
            rs.map((x): ResultLine => ({
              kind: 'result',
              key: lineKey.result(j, x.t, x.trial),
              ...base,
              job: tj.hash,
              deviceHash: dh,
              eval: ev,
              t: x.t,
              trial: x.trial,
              metric: dep.main.name,
              value: x.metrics[dep.main.name]!,
              digital,
              metrics: x.metrics,
            })),
          );
        }
      };
      const progress = () =>
        o.onProgress?.({ phase: 'deploy', done: ++done, total, label: `${j.train.label} on ${j.label}×${j.noiseScale}` });
      await exec.trials(j, ds, todo, dep, {
        trial: (rs) => {
          finished.set(rs[0]!.trial, rs);
          flush();
          progress();
        },
        fail: (trial, e) => {
          failures.push(
            e instanceof JobFailedError ? e : new JobFailedError(`trial ${trial} of ${j.train.label} on ${j.label}`, e.message),
          );
          finished.set(trial, null);
          flush();
          progress();
        },
      });
    } finally {
      dep.dispose();
    }
  }
  o.onProgress?.({ phase: 'deploy', done: total, total, label: '' });
  if (failures.length) throw new JobsFailedError(failures);
  return { dir, store, adapters, discarded };
}
