/** `aimc experiment run | validate`: the experiment runner (and, after a run, the report). */
import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { loadSpec } from '../experiment/spec.js';
import { resolve } from 'node:path';
import { defaultRunsRoot, deployJobs, JobsFailedError, runDir, runExperiment, trainJobs, type TrainJob } from '../experiment/runner.js';
import { queueExecutor } from '../queue/coordinator.js';
import { parseQueueUrl } from '../queue/url.js';
import { describeTraining } from '../train/settings.js';
import { buildReport } from '../report/report.js';
import { parsePositiveInt } from '../input/values.js';
import { BACKEND_OPTION, progressOptions, startBackend } from './common.js';

/** Each adapter entry's training settings and where each value came from (once per label). */
function printTraining(jobs: TrainJob[]): void {
  const seen = new Set<string>();
  for (const j of jobs) {
    if (seen.has(j.label)) continue;
    seen.add(j.label);
    console.log(`training ${j.label}: ${describeTraining({ settings: j.training, sources: j.trainingSources })}`);
  }
}

/** Register `aimc experiment`. */
export function registerExperimentCommands(program: Command): void {
  const exp = program.command('experiment').description('experiments: adapters × devices × noise scales × times × trials');

  exp
    .command('validate')
    .description('check a spec (schema, plugins and configs, devices, model, task) without running it')
    .argument('<spec>', 'experiment JSON file')
    .option('--runs <dir>', "runs root (default: runs/ of the spec's project: the nearest folder above it with package.json or .git)")
    .option(...BACKEND_OPTION)
    .action(async (file: string, o: { backend?: string; runs?: string }) => {
      await startBackend(o.backend, false);
      const r = await loadSpec(file);
      const root = resolve(o.runs ?? defaultRunsRoot(file));
      console.log(`run folder: ${runDir(r.spec, root)}`);
      const t = trainJobs(r, root);
      const d = deployJobs(r, t);
      printTraining(t);
      const lines = d.length * r.spec.trials * r.times.length;
      const grid = `${d.length} deployments × ${r.spec.trials} trials × ${r.times.length} times`;
      console.log(`${file}: valid — ${t.length} training jobs, ${grid} = ${lines} result lines`);
    });

  exp
    .command('run')
    .description('run or resume an experiment; writes runs/NAME/results.jsonl, results.csv and report.html')
    .argument('<spec>', 'experiment JSON file')
    .option(
      '--workers <n>',
      "worker threads for trials (default: the spec's, else as aimc deploy: none with the native kernels, one per core without)",
    )
    .option('--runs <dir>', "runs root (default: runs/ of the spec's project: the nearest folder above it with package.json or .git)")
    .option(
      '--discard-stale',
      'drop recorded results that no longer hold for the spec as it is now (changed settings or input files), then recompute them',
    )
    .option('--no-report', 'do not build the report at the end')
    .option('--queue <url>', 'run the jobs on `aimc worker`s through this Redis server (redis://HOST:PORT[/DB]); this process coordinates')
    .option('--artifacts <dir>', 'with --queue: a directory every worker reads and writes, for trained adapters (default: in Redis)')
    .option(...BACKEND_OPTION)
    .action(async (file: string, o: RunCommandOptions) => {
      const workers = o.workers ? parsePositiveInt(o.workers, '--workers', 1024) : undefined;
      if (o.artifacts && !o.queue) throw new Error('--artifacts: only with --queue (a local run keeps adapters under runs/NAME/adapters)');
      const address = o.queue ? parseQueueUrl(o.queue) : null;
      await startBackend(o.backend, true);
      // The whole spec is checked before any work starts.
      const r = await loadSpec(file);
      const root = resolve(o.runs ?? defaultRunsRoot(file));
      console.log(`run folder: ${runDir(r.spec, root)}`);
      printTraining(trainJobs(r, root));
      const bars = new cliProgress.MultiBar(
        { ...progressOptions('{phase} {bar} {value}/{total} | ETA {eta_formatted} | {label}'), clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      const train = bars.create(trainJobs(r, root).length, 0, { phase: 'train ', label: '' });
      const deploy = bars.create(deployJobs(r, trainJobs(r, root)).length * r.spec.trials, 0, { phase: 'deploy', label: '' });
      const counts = { train: 0, deploy: 0 };
      let res;
      try {
        res = await runExperiment(r, {
          root,
          ...(o.discardStale ? { discardStale: true } : {}),
          ...(workers ? { workers } : {}),
          ...(address
            ? {
                executor: queueExecutor({
                  address,
                  ...(o.artifacts ? { artifacts: resolve(o.artifacts) } : {}),
                  log: (l) => bars.log(`${l}\n`),
                }),
              }
            : {}),
          onProgress: (p) => {
            const bar = p.phase === 'train' ? train : deploy;
            // Only a changed count may reach the ETA estimate: label-only updates (training
            // steps) would fill its buffer with zero progress and show an infinite ETA.
            if (counts[p.phase] !== p.done) bar.update((counts[p.phase] = p.done), { label: p.label });
            else bar.update({ label: p.label });
          },
        });
      } catch (e) {
        bars.stop();
        // Jobs that failed for good on the queue: everything else is recorded; report it as it is.
        if (!(e instanceof JobsFailedError)) throw e;
        if (o.report) {
          const out = await buildReport(runDir(r.spec, root));
          console.log(`report (without the failed jobs): ${out.html}`);
        }
        throw e;
      } finally {
        bars.stop();
      }
      if (res.discarded) console.log(`discarded ${res.discarded} recorded lines that no longer held (recomputed)`);
      const by = (k: string) => res.adapters.filter((a) => a.source === k).length;
      console.log(
        `adapters: ${by('trained')} trained, ${by('cached')} reused from this run, ` +
          `${by('copied')} copied from other experiments with identical training settings` +
          (by('recorded') ? `, ${by('recorded')} not needed (all their results recorded)` : ''),
      );
      console.log(`${res.store.lines.filter((l) => l.kind === 'result').length} result lines in ${res.dir}/results.jsonl`);
      if (o.report) {
        const out = await buildReport(res.dir);
        console.log(`report: ${out.html}\ntables: ${out.markdown}\ntable:  ${out.csv}`);
      }
    });
}

interface RunCommandOptions {
  workers?: string;
  report: boolean;
  backend?: string;
  runs?: string;
  discardStale?: boolean;
  queue?: string;
  artifacts?: string;
}

/** `--compare a,b` (repeatable): the pairs given so far, then this one. */
function comparePair(v: string, prev: [string, string][] = []): [string, string][] {
  const pair = v.split(',').map((x) => x.trim());
  if (pair.length !== 2 || pair.some((x) => !x)) {
    throw new InvalidArgumentError(`'${v}': expected two adapter labels, e.g. stochgrasp,grasp`);
  }
  return [...prev, pair as [string, string]];
}

/** Register `aimc report`. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('rebuild results.csv, report.html and report.md of a run from its results.jsonl alone')
    .argument('<run>', 'run folder (runs/NAME)')
    .option(
      '--compare <a,b>',
      "tabulate adapter a − adapter b (labels; 'label+hwa' for a hardware-aware variant); repeatable; default: the spec's compare",
      comparePair,
    )
    .option('--markdown', 'also print the tables (report.md) to stdout')
    .action(async (dir: string, o: { compare?: [string, string][]; markdown?: boolean }) => {
      const out = await buildReport(dir, o.compare ? { compare: o.compare } : {});
      if (o.markdown) console.log(readFileSync(out.markdown, 'utf8'));
      console.log(`report: ${out.html}\ntables: ${out.markdown}\ntable:  ${out.csv}`);
    });
}
