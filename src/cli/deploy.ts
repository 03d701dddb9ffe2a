/** `aimc deploy`: program a model (and adapter) onto a device, let it drift, evaluate over trials. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { Deployment, type DeploySpec, type TrialProgress } from '../deploy/deployment.js';
import { runTrials } from '../deploy/trials.js';
import { summarizeByTime } from '../deploy/summary.js';
import {
  formatDuration,
  MAX_NOISE_SCALE,
  MAX_TIMES,
  MAX_TRIALS,
  parseDurations,
  parseNumber,
  parsePositiveInt,
  parseTileSize,
} from '../input/values.js';
import { parseTemperature } from '../device/profile.js';
import { BACKEND_OPTION, MODEL_OPTION, progressOptions, SEED_OPTION, startBackendFor, table } from './common.js';
import { checkOutputFile } from '../input/paths.js';

/** Register `aimc deploy`. */
export function registerDeployCommand(program: Command): void {
  program
    .command('deploy')
    .description('simulate a deployment: program, drift, evaluate at each time over independent trials')
    .requiredOption(...MODEL_OPTION)
    .option('--adapter <dir>', 'adapter directory written by `aimc finetune`')
    .requiredOption('--task <task>', 'dataset name or path (evaluated on its test split)')
    .requiredOption('--device <device>', 'device profile name or file')
    .option('--times <list>', 'times after programming, comma-separated', '1s,1h,1d,1y')
    .option('--trials <n>', 'independent chips (programming + read noise draws)', '5')
    .option('--noise-scale <x>', "multiply the device's programming and read noise", '1')
    .option(
      '--temperature <T>',
      'read temperature with its unit, e.g. 85C or 358K (the profile needs a temperature section; default: its reference)',
    )
    .option('--tile <RxC>', "tile size in weights, e.g. 512x512 (default: the profile's)")
    .option('--no-compensation', "turn global drift compensation off (default: the profile's setting)")
    .option('--split <name>', 'test | dev', 'test')
    .option('--eval-limit <n>', 'evaluate a fixed subset of N examples spread over the split')
    .option('--seq <n>', "max tokens per example (default 128, or the model's positions if fewer)")
    .option(
      '--workers <n>',
      'worker threads for trials (default: none — trials in turn, each kernel on every core — with the native kernels; else one per core, at most one per trial)',
    )
    .option(...SEED_OPTION)
    .option('--out <file>', 'write the full results as JSON here', 'deploy.json')
    .option('--json', 'print [{"t", "mean", "std", "digital"}] for the main metric')
    .option(...BACKEND_OPTION)
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string) => o[k] as string;
      checkOutputFile(s('out'), '--out');
      const scale = parseNumber(s('noiseScale'), '--noise-scale', { min: 0, max: MAX_NOISE_SCALE });
      if (!['test', 'dev'].includes(s('split'))) throw new Error(`--split: expected test or dev, got '${s('split')}'`);
      const trials = parsePositiveInt(s('trials'), '--trials', MAX_TRIALS);
      const spec: DeploySpec = {
        model: s('model'),
        adapter: (o.adapter as string | undefined) ?? null,
        task: s('task'),
        device: s('device'),
        noiseScale: scale,
        ...(o.temperature ? { temperature: parseTemperature(s('temperature'), '--temperature') } : {}),
        ...(o.tile ? { tile: parseTileSize(s('tile'), '--tile') } : {}),
        times: parseDurations(s('times'), '--times', { maxItems: MAX_TIMES }),
        ...(o.compensation === false ? { compensate: false } : {}),
        split: s('split') as 'test' | 'dev',
        ...(o.evalLimit ? { evalLimit: parsePositiveInt(s('evalLimit'), '--eval-limit') } : {}),
        ...(o.seq ? { seqLen: parsePositiveInt(s('seq'), '--seq') } : {}),
        seed: s('seed'),
      };
      // More threads than trials would idle: capped at the work available.
      const workers = o.workers ? Math.min(parsePositiveInt(s('workers'), '--workers', 1024), trials) : undefined;
      // Deployments evaluate in batches of 32 (Deployment's default).
      await startBackendFor(o.backend as string | undefined, true, spec.model, 32, spec.seqLen ?? 128);
      // Loading checks model, adapter, task and device before any trial runs.
      const dep = await Deployment.load(spec);
      const main = dep.main.name;
      const digital = dep.digital();
      const what = `${dep.examples.length} ${spec.split} examples, ${trials} trials on ${dep.device.name}`;
      console.error(`${what}; digital ${main} ${digital[main]!.toFixed(4)}`);
      const chip = dep.chipStorage();
      if (chip.storage === 'stream') {
        console.error(
          `chip: ${(chip.bytes / 2 ** 30).toFixed(1)} GB of device state would not fit beside the model; each read re-programs the devices site by site from the same streams (same results, more time)`,
        );
      }
      let done = 0;
      // Within a trial (in this thread only): programming, each read's sites, each evaluation.
      const bar = new cliProgress.SingleBar(
        progressOptions('trial {trial} {stage} {bar} {value}/{total} {unit}'),
        cliProgress.Presets.shades_classic,
      );
      let barStage = '';
      const onProgress = (p: TrialProgress) => {
        const stage = p.stage === 'program' ? 'programming' : `${p.stage === 'read' ? 'reading' : 'evaluating'} at ${formatDuration(p.t!)}`;
        const fields = { trial: p.trial + 1, stage, unit: p.stage === 'evaluate' ? 'examples' : 'sites' };
        if (stage !== barStage) {
          if (barStage) bar.stop();
          barStage = stage;
          bar.start(p.total, p.done, fields);
        } else bar.update(p.done, fields);
      };
      let results;
      try {
        results = await runTrials(
          spec,
          Array.from({ length: trials }, (_, i) => i),
          {
            ...(workers ? { workers } : {}),
            local: dep,
            // In a log (no terminal) every stage would print twice; there only a single trial's (a long one at size).
            ...(process.stderr.isTTY || trials === 1 ? { onProgress } : {}),
            onTrial: () => {
              if (barStage) bar.stop();
              barStage = '';
              console.error(`trial ${++done}/${trials} done`);
            },
          },
        );
      } finally {
        bar.stop();
      }
      dep.dispose();
      const summary = summarizeByTime(results, main).map((r) => ({ t: r.t, mean: r.mean, std: r.std, digital: digital[main]! }));
      mkdirSync(dirname(s('out')), { recursive: true });
      const full = { spec, metric: main, higherIsBetter: dep.main.higherIsBetter, digital, summary, trials: results };
      writeFileSync(s('out'), JSON.stringify(full, null, 2) + '\n');
      if (o.json) return console.log(JSON.stringify(summary));
      const t = table(['t', `${main} (mean ± std over ${trials})`, 'digital', 'drop']);
      for (const r of summary) {
        t.push([formatDuration(r.t), `${r.mean.toFixed(4)} ± ${r.std.toFixed(4)}`, r.digital.toFixed(4), (r.digital - r.mean).toFixed(4)]);
      }
      console.log(t.toString());
      console.error(`results written to ${resolve(s('out'))}`);
    });
}
