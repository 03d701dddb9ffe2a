/**
 * Decoding with an aimc decoder: greedy search and beam search.
 *
 * There is no KV cache: the models this runs on are tiny, so each step re-runs the whole
 * prefix. The live beams of a step all have the same length (every beam advances by one
 * token per step), so they go through the model as the rows of one unpadded Batch.
 *
 * Conventions:
 * - The returned ids are the generated ones only: no prompt, no eos.
 * - `eosId` outside the vocabulary (e.g. −1) means "never stop on eos".
 * - The full sequence (prompt + generated) never exceeds `model.config.maxPositions`;
 *   generation stops when one more token would not fit. A longer prompt is an error.
 * - Beam scores are summed natural-log probabilities divided by length^lengthPenalty, where
 *   length counts the generated tokens whose log-probabilities are summed (the eos included),
 *   so a one-token answer "eos" has length 1, never 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { Transformer } from '../model/transformer.js';

/** Options of greedy decoding. */
export interface GreedyOptions {
  maxNewTokens: number;
  eosId: number;
}

/** Options of beam search. */
export interface BeamOptions {
  /** Number of beams (>= 1; 1 is greedy decoding). */
  beams: number;
  maxNewTokens: number;
  eosId: number;
  /** Exponent of the length normalization; default 1.0 (HF). 0 ranks by total log-probability. */
  lengthPenalty?: number;
}

/** How many tokens may still be generated after `prompt`, within maxNewTokens and maxPositions. */
function budget(model: Transformer, prompt: number[], maxNewTokens: number): number {
  if (model.config.arch !== 'decoder') throw new Error('generation needs a decoder');
  if (prompt.length === 0) throw new Error('generation needs a non-empty prompt (the first token has nothing to be predicted from)');
  const maxPos = model.config.maxPositions;
  if (prompt.length > maxPos) throw new Error(`prompt of ${prompt.length} tokens exceeds the model's ${maxPos} positions`);
  return Math.max(0, Math.min(maxNewTokens, maxPos - prompt.length));
}

/** Next-token logits after each row (rows of equal length): one Float32Array [vocab] per row. */
function nextLogits(model: Transformer, rows: number[][]): Float32Array[] {
  const B = rows.length;
  const T = rows[0]!.length;
  const V = model.config.vocabSize;
  const ids = new Int32Array(B * T);
  rows.forEach((r, b) => {
    if (r.length !== T) throw new Error('nextLogits: rows of unequal length');
    ids.set(r, b * T);
  });
  // Only the last position of each row is read; gather it inside tidy so the [B·T, vocab]
  // logits and every intermediate are freed before the copy to the host.
  const last = tf.tidy(() => {
    const logits = model.lmLogits({ ids, B, T });
    const at = Int32Array.from({ length: B }, (_, b) => b * T + T - 1);
    return tf.gather(logits, at);
  });
  const data = last.dataSync() as Float32Array;
  last.dispose();
  return Array.from({ length: B }, (_, b) => data.subarray(b * V, (b + 1) * V));
}

/** First index of the largest value (lowest id wins a tie). */
function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** log softmax in float64 (log-probabilities are summed over many steps). */
function logSoftmax(x: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of x) if (v > m) m = v;
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - lse;
  return out;
}

/** Greedy decoding: the generated ids (without prompt and eos). */
export function greedyDecode(model: Transformer, prompt: number[], o: GreedyOptions): number[] {
  const steps = budget(model, prompt, o.maxNewTokens);
  const seq = prompt.slice();
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const next = argmax(nextLogits(model, [seq])[0]!);
    if (next === o.eosId) break;
    seq.push(next);
    out.push(next);
  }
  return out;
}

interface Hyp {
  /** Generated tokens (no prompt, no eos). */
  tokens: number[];
  /** Summed log-probability of the generated tokens, the eos included when finished. */
  logp: number;
  score: number;
}

/** Keep the `k` best of `list` after adding `h` (stable: earlier entries win ties). */
function addFinished(list: Hyp[], h: Hyp, k: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.score < h.score) i--;
  list.splice(i, 0, h);
  if (list.length > k) list.pop();
}

/** The `m` largest entries of `lp` as [token, logp], best first (lowest id first on ties). */
function topTokens(lp: Float64Array, m: number): [number, number][] {
  const top: [number, number][] = [];
  for (let v = 0; v < lp.length; v++) {
    const x = lp[v]!;
    if (top.length === m && x <= top[m - 1]![1]) continue;
    let i = top.length;
    while (i > 0 && top[i - 1]![1] < x) i--;
    top.splice(i, 0, [v, x]);
    if (top.length > m) top.pop();
  }
  return top;
}

/**
 * Beam search: the best hypothesis by logprob / length^lengthPenalty (generated ids only, no eos).
 */
export function beamSearch(model: Transformer, prompt: number[], o: BeamOptions): number[] {
  const k = o.beams;
  if (!Number.isInteger(k) || k < 1) throw new Error(`beams must be a positive integer, got ${k}`);
  // One beam is greedy search (as in HF): beam search proper would keep the runner-up alive
  // next to a finished eos hypothesis, which greedy never explores.
  if (k === 1) return greedyDecode(model, prompt, o);
  const lp = o.lengthPenalty ?? 1.0;
  const steps = budget(model, prompt, o.maxNewTokens);
  const norm = (logp: number, len: number) => logp / Math.pow(len, lp);
  let live: Hyp[] = [{ tokens: [], logp: 0, score: 0 }];
  const finished: Hyp[] = [];
  let done = false;
  for (let step = 0; step < steps && live.length > 0; step++) {
    const len = step + 1;
    const logits = nextLogits(
      model,
      live.map((h) => prompt.concat(h.tokens)),
    );
    // 2k candidates (as HF): even if k of them end in eos, k others can continue.
    const cands: { beam: number; token: number; logp: number }[] = [];
    logits.forEach((x, b) => {
      for (const [token, l] of topTokens(logSoftmax(x), 2 * k)) cands.push({ beam: b, token, logp: live[b]!.logp + l });
    });
    // Stable sort: ties keep beam order, then token order.
    cands.sort((a, b) => b.logp - a.logp);
    const next: Hyp[] = [];
    for (let rank = 0; rank < cands.length && next.length < k; rank++) {
      const c = cands[rank]!;
      const tokens = live[c.beam]!.tokens;
      if (c.token === o.eosId) {
        // An eos outside the top k would not have been a beam: it does not finish either.
        if (rank < k) addFinished(finished, { tokens, logp: c.logp, score: norm(c.logp, len) }, k);
      } else {
        next.push({ tokens: [...tokens, c.token], logp: c.logp, score: norm(c.logp, len) });
      }
    }
    live = next;
    // At the last step the live beams are final (truncated) hypotheses: no bound to check.
    if (len < steps && finished.length >= k && live.length > 0) {
      // The best score any live beam could still reach. Log-probabilities only decrease, so
      // with lengthPenalty <= 0 the score can only fall and the shortest completion (eos next,
      // length len + 1) bounds it; with lengthPenalty > 0 a longer hypothesis divides by more,
      // so the bound takes the best logp over the longest length allowed.
      const best = Math.max(...live.map((h) => h.logp));
      const bound = lp > 0 ? norm(best, steps) : norm(best, len + 1);
      if (finished[finished.length - 1]!.score >= bound) {
        done = true;
        break;
      }
    }
  }
  // Out of steps: the live beams are hypotheses too (truncated ones), ranked alongside.
  if (!done) for (const h of live) addFinished(finished, h, k);
  return finished[0]?.tokens ?? [];
}
