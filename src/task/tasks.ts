/**
 * What differs between tasks: how a batch is built, its loss, and how a split is scored.
 * Sequence classification and regression run on the encoder's head; causal LM and
 * conditional generation (E2E-style `mr` → `ref`) on the decoder.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, Example } from '../data/datasets.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Batch, ForwardOptions, Transformer } from '../model/transformer.js';
import { softmaxCrossEntropy } from '../tensor/ops.js';
import { NonFiniteError } from '../input/finite.js';
import type { RandomStream } from '../tensor/random.js';
import { encodeBatch } from './batch.js';
import { accuracy as acc, bleu, f1, matthews, pearson, perplexity, rougeL, spearman, tokenizeForMetrics } from './metrics.js';
import { beamSearch, greedyDecode } from './generate.js';

export type Metrics = Record<string, number>;

export interface TaskOptions {
  batchSize: number;
  seqLen: number;
  /** Generation: beams for decoding (1 = greedy) and the longest output, tokens. */
  beams?: number;
  maxNewTokens?: number;
  /** Progress of the final evaluation: examples done of total (long at large model sizes). */
  onFinalEvaluate?: (done: number, total: number) => void;
}

export interface TaskRunner {
  /** The metric that selects the best checkpoint. */
  main: string;
  higherIsBetter: boolean;
  /** Mean loss of a batch (call inside tf.tidy); `train` enables dropout from that stream. */
  loss(examples: Example[], train?: RandomStream): tf.Scalar;
  /** Tokens in a batch (for tokens/s). */
  tokens(examples: Example[]): number;
  /** Scores on a split (the model in evaluation mode); `progress` hears examples done of total. */
  evaluate(examples: Example[], progress?: (done: number, total: number) => void): Metrics;
  /** Full evaluation at the end (generation adds decoding metrics). */
  finalEvaluate(examples: Example[]): Metrics;
}

function fwd(train?: RandomStream): ForwardOptions {
  return train ? { train } : {};
}

/** Classification (labels.length ≥ 2) or regression (a single output, MSE). */
function headRunner(model: Transformer, data: Dataset, tok: TextTokenizer, o: TaskOptions): TaskRunner {
  const regression = data.kind === 'regression';
  const n = model.config.numLabels;
  const batchOf = (ex: Example[]) => encodeBatch(ex, tok, o.seqLen, model.config.padTokenId);
  const predict = (examples: Example[], progress?: (done: number, total: number) => void): number[] => {
    const out: number[] = [];
    for (let i = 0; i < examples.length; i += o.batchSize) {
      progress?.(i, examples.length);
      const chunk = examples.slice(i, i + o.batchSize);
      const [v, total] = tf.tidy(() => {
        const logits = model.classify(batchOf(chunk));
        // One sum per batch: any NaN or infinity in the logits makes it non-finite (argMax would hide them).
        return [(regression ? tf.reshape(logits, [-1]) : tf.argMax(logits, 1)).dataSync(), tf.sum(logits).dataSync()[0]!] as const;
      });
      if (!Number.isFinite(total)) {
        throw new NonFiniteError([], `the model's outputs for examples ${i}–${i + chunk.length - 1} are not finite`);
      }
      out.push(...Array.from(v));
    }
    progress?.(examples.length, examples.length);
    return out;
  };
  const evaluate = (examples: Example[], progress?: (done: number, total: number) => void): Metrics => {
    const pred = predict(examples, progress);
    const gold = examples.map((e) => e.label!);
    if (regression) {
      const mse = pred.reduce((a, p, i) => a + (p - gold[i]!) ** 2, 0) / Math.max(pred.length, 1);
      return { pearson: pearson(pred, gold), spearman: spearman(pred, gold), mse };
    }
    const m: Metrics = { accuracy: acc(pred, gold), mcc: matthews(pred, gold, n) };
    if (n === 2) m.f1 = f1(pred, gold, 1);
    return m;
  };
  return {
    main: regression ? 'pearson' : 'accuracy',
    higherIsBetter: true,
    loss: (examples, train) => {
      const logits = model.classify(batchOf(examples), fwd(train));
      if (regression) return tf.losses.meanSquaredError(tf.tensor1d(examples.map((e) => e.label!)), tf.reshape(logits, [-1])) as tf.Scalar;
      return softmaxCrossEntropy(
        logits,
        Int32Array.from(examples, (e) => e.label!),
      );
    },
    tokens: (examples) => batchOf(examples).mask!.reduce((a, v) => a + v, 0),
    evaluate,
    finalEvaluate: (examples) => evaluate(examples, o.onFinalEvaluate),
  };
}

/** Token ids of one decoder training sequence and which positions are predicted. */
interface LmRow {
  ids: number[];
  /** Index of the first target token: tokens before it are context only. */
  start: number;
}

function eosOf(tok: TextTokenizer, model: Transformer): number {
  return tok.tokenId('</s>') ?? tok.tokenId('<|endoftext|>') ?? model.config.padTokenId;
}

/** Separator between the meaning representation and the text (as in the LoRA paper's E2E setup). */
export const GENERATION_SEPARATOR = ' ||';

/** Decoder tasks: causal LM on `text`, or generation `text` → one of `refs` (loss on the reference only). */
function decoderRunner(model: Transformer, data: Dataset, tok: TextTokenizer, o: TaskOptions): TaskRunner {
  const eos = eosOf(tok, model);
  const maxLen = Math.min(o.seqLen, model.config.maxPositions);
  const generation = data.kind === 'generation';
  const prompt = (e: Example) => tok.encode(`${e.text}${GENERATION_SEPARATOR}`, undefined, false);
  const rowOf = (e: Example, pick: number): LmRow => {
    if (!generation) return { ids: tok.encode(e.text, undefined, false).concat(eos).slice(0, maxLen), start: 1 };
    const p = prompt(e);
    const ref = e.refs![pick % e.refs!.length]!;
    const ids = p.concat(tok.encode(` ${ref}`, undefined, false), eos).slice(0, maxLen);
    return { ids, start: Math.min(p.length, ids.length - 1) };
  };
  /** Loss and token count over predicted positions (ids[t+1] from position t, t+1 ≥ start). */
  const lossOf = (rows: LmRow[], train?: RandomStream): { loss: tf.Scalar; count: number } => {
    const T = Math.max(...rows.map((r) => r.ids.length));
    const B = rows.length;
    const ids = new Int32Array(B * T).fill(model.config.padTokenId);
    const mask = new Float32Array(B * T);
    // Target of each position (-1: not predicted — context, padding, a row's last token).
    const tgt = new Int32Array(B * T).fill(-1);
    let count = 0;
    rows.forEach((r, b) => {
      r.ids.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1)));
      for (let t = Math.max(r.start, 1) - 1; t + 1 < r.ids.length; t++) ((tgt[b * T + t] = r.ids[t + 1]!), count++);
    });
    const batch: Batch = { ids, mask, B, T };
    return { loss: softmaxCrossEntropy(model.lmLogits(batch, fwd(train)), tgt), count };
  };
  let draw = 0;
  const evaluate = (examples: Example[], progress?: (done: number, total: number) => void): Metrics => {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < examples.length; i += o.batchSize) {
      progress?.(i, examples.length);
      const rows = examples.slice(i, i + o.batchSize).map((e) => rowOf(e, 0));
      const [l, c] = tf.tidy(() => {
        const r = lossOf(rows);
        return [r.loss.dataSync()[0]!, r.count];
      });
      if (!Number.isFinite(l)) throw new NonFiniteError([], `the language-model loss of examples ${i}–${i + o.batchSize - 1} is ${l}`);
      sum += l * c;
      count += c;
    }
    progress?.(examples.length, examples.length);
    const loss = sum / Math.max(count, 1);
    return { loss, perplexity: perplexity(loss) };
  };
  return {
    main: 'perplexity',
    higherIsBetter: false,
    loss: (examples, train) =>
      lossOf(
        examples.map((e) => rowOf(e, draw++)),
        train,
      ).loss,
    tokens: (examples) => examples.reduce((a, e) => a + rowOf(e, 0).ids.length, 0),
    evaluate,
    finalEvaluate: (examples) => {
      const m = evaluate(examples, o.onFinalEvaluate);
      if (!generation) return m;
      const hyps: string[][] = [];
      const refs: string[][][] = [];
      const maxNew = o.maxNewTokens ?? 64;
      for (const e of examples) {
        const p = prompt(e).slice(-(model.config.maxPositions - 1));
        const out =
          (o.beams ?? 1) > 1
            ? beamSearch(model, p, { beams: o.beams!, maxNewTokens: maxNew, eosId: eos })
            : greedyDecode(model, p, { maxNewTokens: maxNew, eosId: eos });
        hyps.push(tokenizeForMetrics(tok.decode(out)));
        refs.push(e.refs!.map(tokenizeForMetrics));
      }
      return { ...m, bleu: bleu(hyps, refs).bleu, rougeL: rougeL(hyps, refs) };
    },
  };
}

/** The runner for a dataset on a model (checks that the two fit together). */
export function taskRunner(model: Transformer, data: Dataset, tok: TextTokenizer, o: TaskOptions): TaskRunner {
  const arch = model.config.arch;
  if (data.kind === 'classification' || data.kind === 'regression') {
    if (arch !== 'encoder') throw new Error(`${data.name}: a ${data.kind} task needs an encoder (the model is a ${arch})`);
    const want = data.kind === 'regression' ? 1 : data.labels.length;
    if (model.config.numLabels !== want) {
      throw new Error(`${data.name}: the model's head has ${model.config.numLabels} outputs, the task needs ${want}`);
    }
    return headRunner(model, data, tok, o);
  }
  if (arch !== 'decoder') throw new Error(`${data.name}: a ${data.kind} task needs a decoder (the model is an ${arch})`);
  return decoderRunner(model, data, tok, o);
}
