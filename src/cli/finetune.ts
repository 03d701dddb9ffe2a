/** `aimc finetune`: train an adapter plugin (optionally hardware-aware) and write it. */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadDataset } from '../data/datasets.js';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import { loadPlugin } from '../peft/registry.js';
import { validatePluginConfig } from '../peft/host.js';
import { runFinetune, type FinetuneSummary } from '../train/finetune.js';
import { parseConfigArg } from './adapter.js';
import { parseDuration, parseNonNegative, parsePositiveInt } from './parse.js';
import { startBackend } from './common.js';

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
    .requiredOption('--model <model>', 'shipped model name or checkpoint directory')
    .requiredOption('--task <task>', 'spam | brown-genre | brown-text | a GLUE or E2E folder | a .jsonl/.csv file')
    .requiredOption('--out <dir>', 'output directory (adapter_config.json, adapter.safetensors, finetune.json)')
    .option('--adapter <name>', 'plugin name (aimc adapter list) or a plugin folder', 'full')
    .option('--config <json|file>', 'plugin config (inline JSON or a file)')
    .option('--hwa <device>', 'hardware-aware training on this device (name or profile file)')
    .option('--hwa-time <t>', 'time after programming at which HWA samples the weights; also the horizon noise-aware plugins target', '1d')
    .option('--no-hwa-periphery', 'HWA: weight noise only, no DAC/ADC/output noise')
    .option('--steps <n>', 'optimizer steps', '600')
    .option('--batch <n>', 'examples per step', '16')
    .option('--seq <n>', 'max tokens per example', '128')
    .option('--lr <x>', 'peak learning rate (PEFT methods usually want 10x full fine-tuning)', '1e-4')
    .option('--warmup <n>', 'warmup steps', '60')
    .option('--weight-decay <x>', 'AdamW weight decay', '0.01')
    .option('--clip <x>', 'gradient-norm clip', '1')
    .option('--eval-every <n>', 'steps between dev evaluations', '100')
    .option('--eval-limit <n>', 'dev examples per evaluation (default: all)')
    .option('--patience <n>', 'stop after this many evaluations without improvement (default: never)')
    .option('--beams <n>', 'generation tasks: beams for the final decoding (1 = greedy)', '1')
    .option('--seed <s>', 'seed', 'aimc')
    .option('--backend <name>', 'tensorflow | wasm | cpu')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string) => o[k] as string;
      // Everything a user can get wrong is checked before any work starts.
      const plugin = await loadPlugin(s('adapter'));
      const { config, source } = parseConfigArg(o.config as string | undefined);
      validatePluginConfig(plugin, config, source);
      const steps = parsePositiveInt(s('steps'), '--steps');
      const hwaTime = parseDuration(s('hwaTime'), '--hwa-time');
      const device = o.hwa ? new DeviceModel(loadProfile(s('hwa'))) : null;
      const opts = {
        steps,
        batchSize: parsePositiveInt(s('batch'), '--batch'),
        seqLen: parsePositiveInt(s('seq'), '--seq'),
        lr: parseNonNegative(s('lr'), '--lr'),
        warmup: Math.min(parsePositiveInt(s('warmup'), '--warmup'), steps),
        weightDecay: parseNonNegative(s('weightDecay'), '--weight-decay'),
        clip: parseNonNegative(s('clip'), '--clip'),
        evalEvery: parsePositiveInt(s('evalEvery'), '--eval-every'),
        ...(o.evalLimit ? { evalLimit: parsePositiveInt(s('evalLimit'), '--eval-limit') } : {}),
        ...(o.patience ? { patience: parsePositiveInt(s('patience'), '--patience') } : {}),
        beams: parsePositiveInt(s('beams'), '--beams'),
        seed: s('seed'),
      };
      const data = loadDataset(s('task'));
      await startBackend(s('backend'), true);
      const bar = new cliProgress.SingleBar(
        { format: 'finetune {bar} {value}/{total} | loss {loss} | {metric} | {tps} tok/s | ETA {eta_formatted}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 30_000 },
        cliProgress.Presets.shades_classic,
      );
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
          out: s('out'),
          command: `aimc finetune ${process.argv.slice(3).join(' ')}`,
          onStart: ({ counts: c }) => {
            const pct = (n: number) => ((100 * n) / c.base).toFixed(3);
            console.log(`${plugin.plugin.name}: ${c.trainable} trainable parameters (${pct(c.trainable)}% of the ${c.base} base) + ${c.head} task head = ${c.trainable + c.head} (${pct(c.trainable + c.head)}%)`);
            if (device) console.log(`hardware-aware training on ${device.name} at t = ${s('hwaTime')}`);
            bar.start(steps, 0, { loss: '-', metric: 'dev -', tps: '-' });
          },
          onProgress: (p) =>
            bar.update(p.step, {
              loss: p.loss.toFixed(3),
              tps: Math.round(p.tokensPerSecond),
              ...(p.dev ? { metric: `dev ${fmt(p.dev)}` } : {}),
            }),
        });
      } finally {
        bar.stop();
      }
      console.log(`dev ${summary.mainMetric} ${summary.dev[summary.mainMetric]?.toFixed(4)} (best at step ${summary.bestStep}); ${data.test.length ? 'test' : 'dev (no test split)'}: ${fmt(summary.test)}`);
      console.log(`adapter written to ${s('out')}`);
    });
}
