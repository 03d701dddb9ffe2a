/** `aimc pretrain`: masked-LM (encoder) or causal-LM (decoder) pretraining with a BPE tokenizer. */
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadDataset } from '../data/datasets.js';
import { trainByteLevelBpe, withTemplate } from '../model/bpe-train.js';
import { loadTokenizer } from '../model/tokenizer.js';
import { defaultConfig, validateConfig, type ModelConfig } from '../model/config.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { packSequences } from '../task/lm-batch.js';
import { pretrain, type EvalResult } from '../train/pretrain.js';
import { parseNonNegative, parseNumber, parsePositiveInt } from '../input/values.js';
import { readJsonFile } from '../input/json.js';
import { BACKEND_OPTION, progressOptions, SEED_OPTION, startBackend } from './common.js';
import { checkOutputDir } from '../input/paths.js';

/** Register `aimc pretrain`. */
export function registerPretrainCommand(program: Command): void {
  program
    .command('pretrain')
    .description('pretrain an encoder (masked LM) or decoder (causal LM) from scratch; resumes from OUT/checkpoint')
    .requiredOption('--arch <arch>', 'encoder | decoder')
    .requiredOption('--out <dir>', 'output model directory')
    .option('--dataset <name>', 'text dataset', 'brown-text')
    .option('--vocab <n>', 'BPE vocabulary size', '4096')
    .option('--hidden <n>', 'model width', '128')
    .option('--layers <n>', 'layers', '4')
    .option('--heads <n>', 'attention heads', '4')
    .option('--ffn <n>', 'FFN inner size', '512')
    .option('--seq <n>', 'sequence length', '128')
    .option('--positions <n>', 'position embeddings (default: --seq)')
    .option('--batch <n>', 'sequences per step', '16')
    .option('--steps <n>', 'optimizer steps', '2000')
    .option(
      '--stop-at <n>',
      'stop after this step of the --steps schedule, writing the model and keeping the checkpoint so a later run continues it',
    )
    .option('--lr <x>', 'peak learning rate', '5e-4')
    .option('--warmup <n>', 'warmup steps', '100')
    .option('--weight-decay <x>', 'AdamW weight decay', '0.01')
    .option('--clip <x>', 'gradient global-norm clip', '1')
    .option('--eval-every <n>', 'steps between dev evaluations and checkpoints', '200')
    .option('--dropout <x>', 'dropout', '0.1')
    .option('--pre-ln', "encoder: LayerNorm before each sublayer (pre-LN, with a final LayerNorm) instead of RoBERTa's post-LN")
    .option('--mask-rate <x>', 'encoder: fraction of tokens selected for prediction (RoBERTa: 0.15)', '0.15')
    .option('--init-from <dir>', "start from an aimc model's matching parameters (e.g. an encoder from a decoder); its tokenizer is used")
    .option(...SEED_OPTION)
    .option(...BACKEND_OPTION)
    .action(async (o: Record<string, string | boolean | undefined> & Record<string, string>) => {
      const arch = o.arch as ModelConfig['arch'];
      if (arch !== 'encoder' && arch !== 'decoder') throw new Error(`--arch: expected encoder or decoder, got '${o.arch}'`);
      checkOutputDir(o.out!, '--out');
      const maskRate = parseNumber(o.maskRate!, '--mask-rate', { min: 0, exclusiveMin: true, max: 1 });
      await startBackend(o.backend, true);
      const data = loadDataset(o.dataset!);
      mkdirSync(o.out!, { recursive: true });
      const init = o.initFrom ? loadCheckpoint(o.initFrom) : undefined;
      if (init && !existsSync(join(o.out!, 'tokenizer.json'))) {
        // The source's vocabulary, with this architecture's post-processor.
        const src = readJsonFile(join(o.initFrom!, 'tokenizer.json'), { what: 'tokenizer', duplicates: 'allow' }).value as Record<
          string,
          unknown
        >;
        writeFileSync(join(o.out!, 'tokenizer.json'), JSON.stringify(withTemplate(src, arch === 'encoder' ? 'roberta' : 'none')));
        console.error(`warm start from ${o.initFrom} (${init.config.arch}); its tokenizer is used`);
      }
      if (!existsSync(join(o.out!, 'tokenizer.json'))) {
        console.error(`training a byte-level BPE tokenizer (${o.vocab} tokens) on ${data.name} train…`);
        const texts = data.train.map((e) => e.text);
        const vocabSize = parsePositiveInt(o.vocab!, '--vocab');
        const json = trainByteLevelBpe(texts, { vocabSize, template: arch === 'encoder' ? 'roberta' : 'none' });
        writeFileSync(join(o.out!, 'tokenizer.json'), JSON.stringify(json));
      }
      const tok = loadTokenizer(o.out!)!;
      const config = validateConfig({
        ...defaultConfig(arch),
        vocabSize: tok.vocabSize,
        hiddenSize: parsePositiveInt(o.hidden!, '--hidden'),
        numLayers: parsePositiveInt(o.layers!, '--layers'),
        numHeads: parsePositiveInt(o.heads!, '--heads'),
        intermediateSize: parsePositiveInt(o.ffn!, '--ffn'),
        maxPositions: parsePositiveInt(o.positions ?? o.seq!, '--positions'),
        dropout: parseNonNegative(o.dropout!, '--dropout'),
        padTokenId: 1,
        numLabels: 0,
        ...(o.preLn && arch === 'encoder' ? { preLayerNorm: true } : {}),
      });
      const seqLen = parsePositiveInt(o.seq!, '--seq');
      if (seqLen > config.maxPositions) throw new Error(`--seq ${seqLen} exceeds --positions ${config.maxPositions}`);
      const sep = 2; // </s>
      const enc = (texts: string[]) => texts.map((t) => Int32Array.from(tok.encode(t, undefined, false)));
      const train = packSequences(enc(data.train.map((e) => e.text)), seqLen, sep);
      const dev = packSequences(enc(data.dev.map((e) => e.text)), seqLen, sep);
      const steps = parsePositiveInt(o.steps!, '--steps');
      const stopAt = o.stopAt === undefined ? steps : parsePositiveInt(o.stopAt, '--stop-at');
      if (stopAt > steps) throw new Error(`--stop-at ${stopAt} is beyond --steps ${steps}`);
      console.error(`${train.length} train / ${dev.length} dev sequences of ${seqLen} tokens`);
      const bar = new cliProgress.SingleBar(
        progressOptions('pretrain {bar} {value}/{total} | loss {loss} | {tps} tok/s | dev {dev} | ETA {eta_formatted}'),
        cliProgress.Presets.shades_classic,
      );
      const devOf = (e: EvalResult) => (arch === 'encoder' ? `acc ${e.accuracy.toFixed(3)}` : `ppl ${e.perplexity.toFixed(1)}`);
      bar.start(steps, 0, { loss: '-', tps: '-', dev: '-' });
      const res = await pretrain({
        config,
        train,
        dev,
        out: o.out!,
        steps,
        batchSize: parsePositiveInt(o.batch!, '--batch'),
        seqLen,
        lr: parseNonNegative(o.lr!, '--lr'),
        warmup: parsePositiveInt(o.warmup!, '--warmup'),
        weightDecay: parseNonNegative(o.weightDecay!, '--weight-decay'),
        clip: parseNonNegative(o.clip!, '--clip'),
        evalEvery: parsePositiveInt(o.evalEvery!, '--eval-every'),
        seed: o.seed!,
        maskId: 4,
        padId: 1,
        maskRate,
        stopAt,
        onWarmStart: (w) =>
          console.error(`warm start: ${w.copied.length} parameters copied, ${w.fresh.length} fresh (${w.fresh.join(', ') || 'none'})`),
        ...(init ? { init } : {}),
        onProgress: (p) =>
          bar.update(p.step, {
            loss: p.loss.toFixed(3),
            tps: Math.round(p.tokensPerSecond),
            ...(p.eval ? { dev: devOf(p.eval) } : {}),
          }),
      });
      bar.stop();
      await saveCheckpoint(res.model, o.out!);
      const summary = {
        command: `aimc pretrain ${process.argv.slice(3).join(' ')}`,
        ...(o.initFrom ? { initFrom: o.initFrom } : {}),
        config,
        steps,
        ...(res.state.step < steps ? { stoppedAt: res.state.step } : {}),
        trainSequences: train.length,
        devSequences: dev.length,
        // Summed over every run of the checkpoint; null when an older checkpoint did not record its time.
        seconds: res.state.seconds ?? null,
        dev: res.eval,
        history: res.state.history,
      };
      writeFileSync(join(o.out!, 'pretrain.json'), JSON.stringify(summary, null, 2) + '\n');
      if (res.state.step < steps) {
        console.error(
          `stopped at step ${res.state.step} of ${steps}: the model is written; ${join(o.out!, 'checkpoint')} is kept, and the same command without --stop-at continues the schedule`,
        );
      } else rmSync(join(o.out!, 'checkpoint'), { recursive: true, force: true });
      const kind = arch === 'encoder' ? 'masked-token' : 'next-token';
      const ev = res.eval;
      console.log(`dev: loss ${ev.loss.toFixed(4)}, ${kind} accuracy ${ev.accuracy.toFixed(4)}, perplexity ${ev.perplexity.toFixed(2)}`);
      res.model.dispose();
    });
}
