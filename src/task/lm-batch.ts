/**
 * Language-model sequences, shared by pretraining and language-model evaluation: token
 * streams packed into fixed-length sequences, and RoBERTa's masking of a batch (15 % of the
 * tokens selected, of which 80 % → <mask>, 10 % → a random token, 10 % unchanged).
 */
import type { RandomStream } from '../tensor/random.js';

/** Cut token streams into fixed-length sequences (documents joined by a separator). */
export function packSequences(docs: Int32Array[], seqLen: number, sep: number): Int32Array[] {
  const total = docs.reduce((a, d) => a + d.length + 1, 0);
  const flat = new Int32Array(total);
  let o = 0;
  for (const d of docs) {
    flat.set(d, o);
    o += d.length;
    flat[o++] = sep;
  }
  const out: Int32Array[] = [];
  for (let s = 0; s + seqLen <= flat.length; s += seqLen) out.push(flat.slice(s, s + seqLen));
  return out;
}

/** A masked batch: the model's input, the positions to predict and their targets. */
export interface MaskedBatch {
  input: Int32Array;
  positions: Int32Array;
  targets: Int32Array;
}

/**
 * RoBERTa masking of one batch: a fraction `rate` of the tokens (specials excepted) is
 * selected for prediction (RoBERTa 0.15, as Hugging Face's `mlm_probability`); returns
 * inputs, positions to predict and their targets.
 */
export function maskTokens(
  ids: Int32Array,
  rng: RandomStream,
  vocab: number,
  maskId: number,
  specials: Set<number>,
  rate = 0.15,
): MaskedBatch {
  const u = rng.uniform(new Float64Array(ids.length * 3));
  const input = ids.slice();
  const pos: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (specials.has(ids[i]!) || u[3 * i]! >= rate) continue;
    pos.push(i);
    const r = u[3 * i + 1]!;
    if (r < 0.8) input[i] = maskId;
    else if (r < 0.9) input[i] = Math.min(vocab - 1, Math.floor(u[3 * i + 2]! * vocab));
  }
  if (pos.length === 0) pos.push(0);
  const positions = Int32Array.from(pos);
  return { input, positions, targets: Int32Array.from(pos, (p) => ids[p]!) };
}
