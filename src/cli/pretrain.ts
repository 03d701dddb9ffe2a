/** `aimc pretrain`: masked-LM (encoder) or causal-LM (decoder) pretraining with a BPE tokenizer (train/pretrain-model.ts). */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { EvalResult } from '../train/pretrain.js';
import { pretrainModel, PRETRAIN_DEFAULTS, type PretrainModelOptions } from '../train/pretrain-model.js';
import { BACKEND_OPTION, progressOptions, startBackend } from './common.js';
import { checkOutputDir } from '../input/paths.js';

/** Register `aimc pretrain`. */
export function registerPretrainCommand(program: Command): void {
  program
    .command('pretrain')
    .description('pretrain an encoder (masked LM) or decoder (causal LM) from scratch; resumes from OUT/checkpoint')
    .requiredOption('--arch <arch>', 'encoder | decoder')
    .requiredOption('--out <dir>', 'output model directory')
    .option('--dataset <name>', 'text dataset', PRETRAIN_DEFAULTS.dataset)
    .option('--vocab <n>', `BPE vocabulary size (default: ${PRETRAIN_DEFAULTS.vocab})`)
    .option('--hidden <n>', `model width (default: ${PRETRAIN_DEFAULTS.hidden})`)
    .option('--layers <n>', `layers (default: ${PRETRAIN_DEFAULTS.layers})`)
    .option('--heads <n>', `attention heads (default: ${PRETRAIN_DEFAULTS.heads})`)
    .option('--ffn <n>', `FFN inner size (default: ${PRETRAIN_DEFAULTS.ffn})`)
    .option('--seq <n>', `sequence length (default: ${PRETRAIN_DEFAULTS.seq})`)
    .option('--positions <n>', 'position embeddings (default: --seq)')
    .option('--batch <n>', `sequences per step (default: ${PRETRAIN_DEFAULTS.batch})`)
    .option('--steps <n>', `optimizer steps (default: ${PRETRAIN_DEFAULTS.steps})`)
    .option(
      '--stop-at <n>',
      'stop after this step of the --steps schedule, writing the model and keeping the checkpoint so a later run continues it',
    )
    .option('--lr <x>', `peak learning rate (default: ${PRETRAIN_DEFAULTS.lr})`)
    .option('--warmup <n>', `warmup steps (default: ${PRETRAIN_DEFAULTS.warmup})`)
    .option('--weight-decay <x>', `AdamW weight decay (default: ${PRETRAIN_DEFAULTS.weightDecay})`)
    .option('--clip <x>', `gradient global-norm clip (default: ${PRETRAIN_DEFAULTS.clip})`)
    .option('--eval-every <n>', `steps between dev evaluations and checkpoints (default: ${PRETRAIN_DEFAULTS.evalEvery})`)
    .option('--dropout <x>', `dropout (default: ${PRETRAIN_DEFAULTS.dropout})`)
    .option('--pre-ln', "encoder: LayerNorm before each sublayer (pre-LN, with a final LayerNorm) instead of RoBERTa's post-LN")
    .option('--mask-rate <x>', `encoder: fraction of tokens selected for prediction (default: ${PRETRAIN_DEFAULTS.maskRate}, as RoBERTa)`)
    .option('--init-from <dir>', "start from an aimc model's matching parameters (e.g. an encoder from a decoder); its tokenizer is used")
    .option('--seed <s>', 'seed', PRETRAIN_DEFAULTS.seed)
    .option(...BACKEND_OPTION)
    .action(async (o: Record<string, string | boolean | undefined>) => {
      checkOutputDir(o.out as string, '--out');
      await startBackend(o.backend as string | undefined, true);
      const arch = o.arch as PretrainModelOptions['arch'];
      const bar = new cliProgress.SingleBar(
        progressOptions('pretrain {bar} {value}/{total} | loss {loss} | {tps} tok/s | dev {dev} | ETA {eta_formatted}'),
        cliProgress.Presets.shades_classic,
      );
      const devOf = (e: EvalResult) => (arch === 'encoder' ? `acc ${e.accuracy.toFixed(3)}` : `ppl ${e.perplexity.toFixed(1)}`);
      const given = Object.fromEntries(
        Object.entries(o).filter(
          ([k, v]) => v !== undefined && !['backend', 'out', 'arch', 'preLn', 'initFrom', 'dataset', 'seed'].includes(k),
        ),
      );
      const res = await pretrainModel({
        ...given,
        arch,
        out: o.out as string,
        dataset: o.dataset as string,
        seed: o.seed as string,
        ...(o.preLn ? { preLn: true } : {}),
        ...(o.initFrom ? { initFrom: o.initFrom as string } : {}),
        command: `aimc pretrain ${process.argv.slice(3).join(' ')}`,
        optionName: (k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        onMessage: (text) => console.error(text),
        onStart: ({ steps }) => bar.start(steps, 0, { loss: '-', tps: '-', dev: '-' }),
        onProgress: (p) =>
          bar.update(p.step, { loss: p.loss.toFixed(3), tps: Math.round(p.tokensPerSecond), ...(p.eval ? { dev: devOf(p.eval) } : {}) }),
      }).finally(() => bar.stop());
      const kind = arch === 'encoder' ? 'masked-token' : 'next-token';
      const ev = res.eval;
      console.log(`dev: loss ${ev.loss.toFixed(4)}, ${kind} accuracy ${ev.accuracy.toFixed(4)}, perplexity ${ev.perplexity.toFixed(2)}`);
      res.model.dispose();
    });
}
