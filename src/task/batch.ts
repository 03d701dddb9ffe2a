/** Batching of text examples for the encoder's head (classification and regression). */
import type { Example } from '../data/datasets.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Batch } from '../model/transformer.js';

// Evaluations and trials tokenize the same examples again and again: keep the ids.
const cache = new WeakMap<TextTokenizer, WeakMap<Example, Map<number, number[]>>>();

/**
 * Characters kept of a text before tokenizing for at most `seqLen` tokens: 32 per token,
 * far more than a byte-level BPE token spans, cut at a space when one is near the end so the
 * kept tokens are exactly those of the full text (spam messages run to tens of kilobytes;
 * tokenizing them whole to keep 64 tokens dominated evaluation time).
 */
export function clipText(text: string, seqLen: number): string {
  const max = seqLen * 32;
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max);
  return text.slice(0, space > max * 0.75 ? space : max);
}

/** Token ids of an example truncated to seqLen, keeping the final special token (cached). */
export function encodeExample(e: Example, tok: TextTokenizer, seqLen: number): number[] {
  let byTok = cache.get(tok);
  if (!byTok) cache.set(tok, (byTok = new WeakMap()));
  let byLen = byTok.get(e);
  if (!byLen) byTok.set(e, (byLen = new Map()));
  const hit = byLen.get(seqLen);
  if (hit) return hit;
  const ids = tok.encode(clipText(e.text, seqLen), e.textPair === undefined ? undefined : clipText(e.textPair, seqLen));
  const out = ids.length <= seqLen ? ids : [...ids.slice(0, seqLen - 1), ids[ids.length - 1]!];
  byLen.set(seqLen, out);
  return out;
}

/** Tokenize, truncate (keeping the final special token) and pad a batch of examples. */
export function encodeBatch(examples: Example[], tok: TextTokenizer, seqLen: number, padId: number): Batch {
  const rows = examples.map((e) => encodeExample(e, tok, seqLen));
  const T = Math.max(...rows.map((r) => r.length));
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1))));
  return { ids, mask, B, T };
}
