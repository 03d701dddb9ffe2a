/** Batching of text examples for the encoder's head (classification and regression). */
import type { Example } from '../data/datasets.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { Batch } from '../model/transformer.js';

/** Tokenize, truncate (keeping the final special token) and pad a batch of examples. */
export function encodeBatch(examples: Example[], tok: TextTokenizer, seqLen: number, padId: number): Batch {
  const rows = examples.map((e) => {
    const ids = tok.encode(e.text, e.textPair);
    return ids.length <= seqLen ? ids : [...ids.slice(0, seqLen - 1), ids[ids.length - 1]!];
  });
  const T = Math.max(...rows.map((r) => r.length));
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1))));
  return { ids, mask, B, T };
}
