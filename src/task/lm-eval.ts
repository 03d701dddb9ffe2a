/**
 * Language-model evaluation of a base model on a text split: masked-LM (encoder, RoBERTa's
 * masking from a fixed stream) or causal-LM (decoder) loss, accuracy, perplexity and bits per
 * byte — the loss in bits over the bytes of text the predicted tokens stand for, which does
 * not depend on the tokenizer, so models with different vocabularies can be compared.
 * The sequences are the split's texts packed into fixed-length windows: a fixed,
 * deterministic set for a given tokenizer and length.
 */
import * as tf from '@tensorflow/tfjs';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { softmaxCrossEntropy } from '../tensor/ops.js';
import { RandomStream } from '../tensor/random.js';
import { maskTokens, packSequences } from './lm-batch.js';

export interface LmEvalResult {
  /** Mean cross-entropy per predicted token, nats. */
  loss: number;
  /** Masked-token (encoder) or next-token (decoder) accuracy. */
  accuracy: number;
  perplexity: number;
  /** Total loss in bits / bytes of text of the predicted tokens. */
  bitsPerByte: number;
  /** Predicted tokens. */
  tokens: number;
  /** Bytes of text they stand for. */
  bytes: number;
  sequences: number;
}

export interface LmEvalOptions {
  /** Tokens per sequence. */
  seqLen: number;
  /** At most this many sequences, spread evenly over the split (default: all). */
  limit?: number;
  batchSize?: number;
  /** Name of the masking stream (encoder). */
  seed?: string;
}

/** Pack texts into the evaluation sequences (documents joined by the separator token). */
export function evalSequences(tok: TextTokenizer, texts: string[], seqLen: number, limit?: number): Int32Array[] {
  const sep = tok.tokenId('</s>') ?? tok.tokenId('<|endoftext|>') ?? 0;
  const all = packSequences(
    texts.map((t) => Int32Array.from(tok.encode(t, undefined, false))),
    seqLen,
    sep,
  );
  if (!limit || limit >= all.length) return all;
  return Array.from({ length: limit }, (_, i) => all[Math.floor((i * all.length) / limit)]!);
}

/** Evaluate `model` on the sequences; throws when nothing is predicted or a loss is not finite. */
export function evaluateLm(model: Transformer, tok: TextTokenizer, seqs: Int32Array[], o: LmEvalOptions): LmEvalResult {
  const B = o.batchSize ?? 16;
  const T = o.seqLen;
  const bytesOf = tok.tokenBytes();
  const specials = new Set(tok.specialIds);
  specials.add(model.config.padTokenId);
  const maskId = tok.tokenId('<mask>');
  if (model.config.arch === 'encoder' && maskId === undefined) {
    throw new Error('masked-LM evaluation needs a <mask> token in the tokenizer');
  }
  const rng = new RandomStream(o.seed ?? 'aimc/lm-eval');
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < seqs.length; i += B) {
    const batch = seqs.slice(i, i + B);
    const n = batch.length;
    const ids = new Int32Array(n * T);
    batch.forEach((s, k) => ids.set(s, k * T));
    const r = tf.tidy(() => {
      let logits: tf.Tensor2D;
      let targets: Int32Array;
      if (model.config.arch === 'encoder') {
        const m = maskTokens(ids, rng.child(i), model.config.vocabSize, maskId!, specials);
        logits = model.mlmLogits({ ids: m.input, B: n, T }, m.positions);
        targets = m.targets.map((t) => (specials.has(t) ? -1 : t));
      } else {
        logits = model.lmLogits({ ids, B: n, T });
        targets = new Int32Array(n * T);
        for (let b = 0; b < n; b++) {
          for (let t = 0; t < T; t++) {
            const next = t + 1 < T ? ids[b * T + t + 1]! : -1;
            targets[b * T + t] = next >= 0 && !specials.has(next) ? next : -1;
          }
        }
      }
      const counted = targets.reduce((a, t) => a + (t >= 0 ? 1 : 0), 0);
      const loss = counted ? softmaxCrossEntropy(logits, targets).dataSync()[0]! : 0;
      const pred = tf.argMax(logits, 1).dataSync();
      let ok = 0;
      let by = 0;
      targets.forEach((t, k) => {
        if (t < 0) return;
        if (pred[k] === t) ok++;
        by += bytesOf[t] ?? 0;
      });
      return { loss, counted, ok, by };
    });
    if (!Number.isFinite(r.loss)) {
      const which = `sequences ${i}–${i + n - 1}`;
      throw new Error(`language-model evaluation: the loss of ${which} is ${r.loss} (non-finite weights or activations)`);
    }
    lossSum += r.loss * r.counted;
    count += r.counted;
    correct += r.ok;
    bytes += r.by;
  }
  if (!count) throw new Error('language-model evaluation: no token to predict (the split is empty or shorter than one sequence)');
  const loss = lossSum / count;
  return {
    loss,
    accuracy: correct / count,
    perplexity: Math.exp(loss),
    bitsPerByte: lossSum / Math.LN2 / Math.max(bytes, 1),
    tokens: count,
    bytes,
    sequences: seqs.length,
  };
}

/** `evaluateLanguageModel`'s options: which split and how the sequences are cut. */
export interface LmDatasetEvalOptions {
  /** Split of the dataset (default dev). */
  split?: 'train' | 'dev' | 'test';
  /** Tokens per sequence (default 128, or the model's positions if fewer). */
  seqLen?: number;
  limit?: number;
  batchSize?: number;
  seed?: string;
  /** How an option is named in error messages (the CLI passes its flags; default 'split', 'sequence length'). */
  optionName?: (key: 'split' | 'seqLen') => string;
}

/**
 * `aimc model eval` as a call: the loaded model's language-model quality on a dataset split
 * (its texts, pairs joined), refusing what cannot be evaluated before any work.
 */
export function evaluateLanguageModel(
  model: Transformer,
  tok: TextTokenizer,
  data: {
    name: string;
    train: { text: string; textPair?: string }[];
    dev: { text: string; textPair?: string }[];
    test: { text: string; textPair?: string }[];
  },
  o: LmDatasetEvalOptions = {},
): LmEvalResult & { seqLen: number } {
  const name = o.optionName ?? ((k) => (k === 'seqLen' ? 'sequence length' : k));
  const split = o.split ?? 'dev';
  if (!['train', 'dev', 'test'].includes(split)) throw new Error(`${name('split')}: expected train, dev or test, got '${split}'`);
  const texts = data[split].map((e) => (e.textPair ? `${e.text} ${e.textPair}` : e.text));
  if (!texts.length) throw new Error(`${data.name}: the ${split} split is empty`);
  const seqLen = o.seqLen ?? Math.min(128, model.config.maxPositions);
  if (seqLen > model.config.maxPositions)
    throw new Error(`${name('seqLen')} ${seqLen} exceeds the model's ${model.config.maxPositions} positions`);
  if (model.config.arch === 'encoder' && !model.hasMlmHead()) {
    throw new Error('this encoder has no masked-LM head (lm_head / mlm.* weights), so it cannot be evaluated as a language model');
  }
  const seqs = evalSequences(tok, texts, seqLen, o.limit);
  if (!seqs.length) throw new Error(`${data.name} ${split}: shorter than one sequence of ${seqLen} tokens`);
  const r = evaluateLm(model, tok, seqs, {
    seqLen,
    ...(o.batchSize ? { batchSize: o.batchSize } : {}),
    ...(o.seed ? { seed: o.seed } : {}),
  });
  return { ...r, seqLen };
}
