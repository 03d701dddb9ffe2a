/** `aimc finetune`: train an adapter plugin (optionally hardware-aware) and write it. */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { checkTrainable, loadDataset } from '../data/datasets.js';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import { loadPlugin } from '../peft/registry.js';
import { validatePluginConfig } from '../peft/host.js';
import { runFinetune, type FinetuneSummary } from '../train/finetune.js';
import { parseConfigArg } from './adapter.js';
import { parseDuration, parseNonNegative, parseNonNegativeInt, parsePositiveInt } from '../input/values.js';
import { BACKEND_OPTION, MODEL_OPTION, progressOptions, SEED_OPTION, startBackendFor } from './common.js';
import { checkOutputDir } from '../input/paths.js';
import { describeTraining, resolveTraining, TRAINING_DEFAULTS, WARMUP_FRACTION, type TrainingSettings } from '../train/settings.js';
import { trainOptionsOf } from '../train/finetune.js';

function fmt(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ');
}

/** Register `aimc finetune`. */
export function registerFinetuneCommand(program: Command): void {
  program
    .command('finetune')
    .description('train an adapter on a task (optionally hardware-aware) and write it to --out')
    .requiredOption(...MODEL_OPTION)
    .requiredOption('--task <task>', 'spam | brown-genre | brown-text | a GLUE or E2E folder | a .jsonl/.csv file')
    .requiredOption('--out <dir>', 'output directory (adapter_config.json, adapter.safetensors, finetune.json)')
    .option('--adapter <name>', 'plugin name (aimc adapter list) or a plugin folder', 'full')
    .option('--config <json|file>', 'plugin config (inline JSON or a file)')
    .option('--hwa <device>', 'hardware-aware training on this device (name or profile file)')
    .option('--hwa-time <t>', 'time after programming at which HWA samples the weights; also the horizon noise-aware plugins target', '1d')
    .option('--no-hwa-periphery', 'HWA: weight noise only, no DAC/ADC/output noise')
    .option('--steps <n>', `optimizer steps (default ${TRAINING_DEFAULTS.steps})`)
    .option('--batch <n>', `examples per step (default ${TRAINING_DEFAULTS.batch})`)
    .option('--seq <n>', `max tokens per example (default ${TRAINING_DEFAULTS.seq}, at most the model's positions)`)
    .option('--lr <x>', `peak learning rate (default: the plugin's recommendation, else ${TRAINING_DEFAULTS.lr})`)
    .option('--warmup <n>', `warmup steps (default: the plugin's, else ${WARMUP_FRACTION * 100} % of the steps)`)
    .option('--weight-decay <x>', `AdamW weight decay (default: the plugin's, else ${TRAINING_DEFAULTS.weightDecay})`)
    .option('--clip <x>', `gradient-norm clip (default ${TRAINING_DEFAULTS.clip})`)
    .option('--eval-every <n>', `steps between dev evaluations (default ${TRAINING_DEFAULTS.evalEvery})`)
    .option('--eval-limit <n>', 'dev examples per evaluation (default: all)')
    .option('--test-limit <n>', 'final evaluation on a fixed subset of N test examples spread over the split (default: all)')
    .option('--patience <n>', 'stop after this many evaluations without improvement (default: never)')
    .option('--beams <n>', 'generation tasks: beams for the final decoding (1 = greedy)', '1')
    .option(...SEED_OPTION)
    .option(...BACKEND_OPTION)
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string) => o[k] as string;
      // Everything a user can get wrong is checked before any work starts.
      checkOutputDir(s('out'), '--out');
      const plugin = await loadPlugin(s('adapter'));
      const { config, source } = parseConfigArg(o.config as string | undefined);
      validatePluginConfig(plugin, config, source);
      const hwaTime = parseDuration(s('hwaTime'), '--hwa-time');
      const device = o.hwa ? new DeviceModel(loadProfile(s('hwa'))) : null;
      // What the user gave; the rest comes from the plugin's recommendation or aimc's defaults.
      const given: Partial<TrainingSettings> = {};
      const num = (k: keyof TrainingSettings, flag: string, parse: (v: string, f: string) => number) => {
        if (o[k] !== undefined) given[k] = parse(s(k), flag);
      };
      num('steps', '--steps', parsePositiveInt);
      num('batch', '--batch', parsePositiveInt);
      num('seq', '--seq', parsePositiveInt);
      num('lr', '--lr', parseNonNegative);
      num('warmup', '--warmup', parseNonNegativeInt);
      num('weightDecay', '--weight-decay', parseNonNegative);
      num('clip', '--clip', parseNonNegative);
      num('evalEvery', '--eval-every', parsePositiveInt);
      num('evalLimit', '--eval-limit', parsePositiveInt);
      num('patience', '--patience', parsePositiveInt);
      const resolved = resolveTraining([{ source: 'option', values: given }], plugin.plugin);
      const t = resolved.settings;
      const steps = t.steps;
      const opts = {
        ...trainOptionsOf(t),
        beams: parsePositiveInt(s('beams'), '--beams'),
        seed: s('seed'),
        ...(o.testLimit !== undefined ? { testLimit: parsePositiveInt(s('testLimit'), '--test-limit') } : {}),
      };
      const data = loadDataset(s('task'));
      checkTrainable(data);
      await startBackendFor(o.backend as string | undefined, true, s('model'), t.batch, t.seq);
      const bar = new cliProgress.SingleBar(
        progressOptions('finetune {bar} {value}/{total} | loss {loss} | {metric} | {tps} tok/s | ETA {eta_formatted}'),
        cliProgress.Presets.shades_classic,
      );
      let testBar: cliProgress.SingleBar | undefined;
      let summary: FinetuneSummary;
      try {
        summary = await runFinetune({
          model: s('model'),
          data,
          plugin,
          config,
          configSource: source,
          hwa: device ? { device: s('hwa'), t: hwaTime, periphery: o.hwaPeriphery !== false } : null,
          horizon: hwaTime,
          train: opts,
          settings: resolved,
          out: s('out'),
          command: `aimc finetune ${process.argv.slice(3).join(' ')}`,
          onStart: ({ counts: c }) => {
            const pct = (n: number) => ((100 * n) / c.base).toFixed(3);
            const all = c.trainable + c.head;
            console.log(
              `${plugin.plugin.name}: ${c.trainable} trainable parameters (${pct(c.trainable)}% of the ${c.base} base) ` +
                `+ ${c.head} task head = ${all} (${pct(all)}%)`,
            );
            console.log(`training: ${describeTraining(resolved)}`);
            if (device) console.log(`hardware-aware training on ${device.name} at t = ${s('hwaTime')}`);
            bar.start(steps, 0, { loss: '-', metric: 'dev -', tps: '-' });
          },
          onProgress: (p) =>
            bar.update(p.step, {
              loss: p.loss.toFixed(3),
              tps: Math.round(p.tokensPerSecond),
              ...(p.dev ? { metric: `dev ${fmt(p.dev)}` } : {}),
            }),
          onFinalEvaluate: (done, total) => {
            if (!testBar) {
              bar.stop();
              testBar = new cliProgress.SingleBar(
                progressOptions(`${data.test.length ? 'test' : 'dev'} {bar} {value}/{total} examples | ETA {eta_formatted}`),
                cliProgress.Presets.shades_classic,
              );
              testBar.start(total, done);
            } else testBar.update(done);
          },
        });
      } finally {
        bar.stop();
        testBar?.stop();
      }
      const best = `dev ${summary.mainMetric} ${summary.dev[summary.mainMetric]?.toFixed(4)} (best at step ${summary.bestStep})`;
      const on = summary.testExamples !== undefined ? ` (${summary.testExamples} examples)` : '';
      console.log(`${best}; ${data.test.length ? 'test' : 'dev (no test split)'}${on}: ${fmt(summary.test)}`);
      console.log(`adapter written to ${s('out')}`);
    });
}
