/**
 * A base model pretrained from a text dataset, end to end, as `aimc pretrain` runs it: a
 * byte-level BPE tokenizer trained on the train split (or the warm-start model's), the model
 * configuration, packed sequences, the resumable training loop (train/pretrain.ts), the model
 * and its `pretrain.json` written to `out`. Messages and progress go to callbacks.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, type Dataset } from '../data/datasets.js';
import { trainByteLevelBpe, withTemplate } from '../model/bpe-train.js';
import { loadTokenizer } from '../model/tokenizer.js';
import { defaultConfig, validateConfig, type ModelConfig } from '../model/config.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import type { Transformer } from '../model/transformer.js';
import { packSequences } from '../task/lm-batch.js';
import { readJsonFile } from '../input/json.js';
import { parseNonNegative, parseNumber, parsePositiveInt } from '../input/values.js';
import { pretrain, type EvalResult } from './pretrain.js';

/** What `pretrainModel` takes when the caller gives nothing (the CLI's defaults too). */
export const PRETRAIN_DEFAULTS = {
  dataset: 'brown-text',
  vocab: 4096,
  hidden: 128,
  layers: 4,
  heads: 4,
  ffn: 512,
  seq: 128,
  batch: 16,
  steps: 2000,
  lr: 5e-4,
  warmup: 100,
  weightDecay: 0.01,
  clip: 1,
  evalEvery: 200,
  dropout: 0.1,
  maskRate: 0.15,
  seed: 'aimc',
} as const;

type Num = number | string;

export interface PretrainModelOptions {
  arch: 'encoder' | 'decoder';
  /** Output model directory (resumes from `out/checkpoint`). */
  out: string;
  /** Text dataset name (aimc data) or a loaded dataset. */
  dataset?: string | Dataset;
  /** BPE vocabulary size (a fresh tokenizer only). */
  vocab?: Num;
  hidden?: Num;
  layers?: Num;
  heads?: Num;
  ffn?: Num;
  /** Tokens per training sequence. */
  seq?: Num;
  /** Position embeddings (default: seq). */
  positions?: Num;
  batch?: Num;
  steps?: Num;
  /** Stop after this step of the `steps` schedule (the checkpoint is kept, a later run continues). */
  stopAt?: Num;
  lr?: Num;
  warmup?: Num;
  weightDecay?: Num;
  clip?: Num;
  evalEvery?: Num;
  dropout?: Num;
  /** Encoder: LayerNorm before each sublayer (with a final LayerNorm). */
  preLn?: boolean;
  /** Encoder: fraction of tokens selected for prediction. */
  maskRate?: Num;
  /** Start from this aimc model directory's matching parameters; its tokenizer is used. */
  initFrom?: string;
  seed?: string;
  /** Recorded in pretrain.json as how the model was made. */
  command?: string;
  /** How an option is named in error messages (the CLI passes its flags). */
  optionName?: (key: keyof PretrainModelOptions) => string;
  /** One line of news (tokenizer training, warm start, sizes, a stop before the end). */
  onMessage?: (text: string) => void;
  onStart?: (info: { steps: number; trainSequences: number; devSequences: number; seqLen: number }) => void;
  onProgress?: (p: { step: number; loss: number; tokensPerSecond: number; eval?: EvalResult }) => void;
}

export interface PretrainModelResult {
  model: Transformer;
  config: ModelConfig;
  /** Dev loss, accuracy and perplexity at the last evaluation. */
  eval: EvalResult;
  /** Steps done so far; less than `steps` when stopped early with `stopAt`. */
  step: number;
  steps: number;
  /** The pretrain.json written beside the model. */
  summary: Record<string, unknown>;
}

/** Pretrain (or resume) a base model into `o.out`; see the module comment. */
export async function pretrainModel(o: PretrainModelOptions): Promise<PretrainModelResult> {
  const name = (k: keyof PretrainModelOptions) => o.optionName?.(k) ?? k;
  const D = PRETRAIN_DEFAULTS;
  const int = (k: keyof PretrainModelOptions & keyof typeof D) => parsePositiveInt((o[k] as Num | undefined) ?? (D[k] as number), name(k));
  const nonNeg = (k: keyof PretrainModelOptions & keyof typeof D) =>
    parseNonNegative((o[k] as Num | undefined) ?? (D[k] as number), name(k));
  const arch = o.arch;
  if (arch !== 'encoder' && arch !== 'decoder') throw new Error(`${name('arch')}: expected encoder or decoder, got '${String(arch)}'`);
  const maskRate = parseNumber(o.maskRate ?? D.maskRate, name('maskRate'), { min: 0, exclusiveMin: true, max: 1 });
  const steps = int('steps');
  const stopAt = o.stopAt === undefined ? steps : parsePositiveInt(o.stopAt, name('stopAt'));
  if (stopAt > steps) throw new Error(`${name('stopAt')} ${stopAt} is beyond ${name('steps')} ${steps}`);
  const seqLen = int('seq');
  // Every number is checked before any work starts.
  const n = {
    vocab: int('vocab'),
    hidden: int('hidden'),
    layers: int('layers'),
    heads: int('heads'),
    ffn: int('ffn'),
    positions: parsePositiveInt(o.positions ?? seqLen, name('positions')),
    batch: int('batch'),
    warmup: int('warmup'),
    evalEvery: int('evalEvery'),
    lr: nonNeg('lr'),
    weightDecay: nonNeg('weightDecay'),
    clip: nonNeg('clip'),
    dropout: nonNeg('dropout'),
  };
  if (seqLen > n.positions) throw new Error(`${name('seq')} ${seqLen} exceeds ${name('positions')} ${n.positions}`);
  const say = o.onMessage ?? (() => {});
  const data = typeof o.dataset === 'object' ? o.dataset : loadDataset(o.dataset ?? D.dataset);
  mkdirSync(o.out, { recursive: true });
  const tokPath = join(o.out, 'tokenizer.json');
  const init = o.initFrom ? loadCheckpoint(o.initFrom) : undefined;
  if (init && !existsSync(tokPath)) {
    // The source's vocabulary, with this architecture's post-processor.
    const src = readJsonFile(join(o.initFrom!, 'tokenizer.json'), { what: 'tokenizer', duplicates: 'allow' }).value as Record<
      string,
      unknown
    >;
    writeFileSync(tokPath, JSON.stringify(withTemplate(src, arch === 'encoder' ? 'roberta' : 'none')));
    say(`warm start from ${o.initFrom} (${init.config.arch}); its tokenizer is used`);
  }
  if (!existsSync(tokPath)) {
    const vocabSize = n.vocab;
    say(`training a byte-level BPE tokenizer (${vocabSize} tokens) on ${data.name} train…`);
    const json = trainByteLevelBpe(
      data.train.map((e) => e.text),
      { vocabSize, template: arch === 'encoder' ? 'roberta' : 'none' },
    );
    writeFileSync(tokPath, JSON.stringify(json));
  }
  const tok = loadTokenizer(o.out)!;
  const config = validateConfig({
    ...defaultConfig(arch),
    vocabSize: tok.vocabSize,
    hiddenSize: n.hidden,
    numLayers: n.layers,
    numHeads: n.heads,
    intermediateSize: n.ffn,
    maxPositions: n.positions,
    dropout: n.dropout,
    padTokenId: 1,
    numLabels: 0,
    ...(o.preLn && arch === 'encoder' ? { preLayerNorm: true } : {}),
  });
  const sep = 2; // </s>
  const enc = (texts: string[]) => texts.map((t) => Int32Array.from(tok.encode(t, undefined, false)));
  const train = packSequences(enc(data.train.map((e) => e.text)), seqLen, sep);
  const dev = packSequences(enc(data.dev.map((e) => e.text)), seqLen, sep);
  say(`${train.length} train / ${dev.length} dev sequences of ${seqLen} tokens`);
  o.onStart?.({ steps, trainSequences: train.length, devSequences: dev.length, seqLen });
  const res = await pretrain({
    config,
    train,
    dev,
    out: o.out,
    steps,
    batchSize: n.batch,
    seqLen,
    lr: n.lr,
    warmup: n.warmup,
    weightDecay: n.weightDecay,
    clip: n.clip,
    evalEvery: n.evalEvery,
    seed: o.seed ?? D.seed,
    maskId: 4,
    padId: 1,
    maskRate,
    stopAt,
    onWarmStart: (w) => say(`warm start: ${w.copied.length} parameters copied, ${w.fresh.length} fresh (${w.fresh.join(', ') || 'none'})`),
    ...(init ? { init } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  init?.dispose();
  await saveCheckpoint(res.model, o.out);
  const summary = {
    command: o.command ?? 'pretrainModel',
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
  writeFileSync(join(o.out, 'pretrain.json'), JSON.stringify(summary, null, 2) + '\n');
  if (res.state.step < steps) {
    say(
      `stopped at step ${res.state.step} of ${steps}: the model is written; ${join(o.out, 'checkpoint')} is kept, and the same command without --stop-at continues the schedule`,
    );
  } else rmSync(join(o.out, 'checkpoint'), { recursive: true, force: true });
  return { model: res.model, config, eval: res.eval, step: res.state.step, steps, summary };
}
