/**
 * Task metrics on plain arrays (no tensors: they run once per evaluation on host data).
 *
 * Conventions:
 * - Labels are class indices 0..K−1; `pred` and `gold` must have the same length (else throw).
 * - Every metric returns a fraction, not a percentage: accuracy, F1, BLEU and ROUGE-L lie in
 *   [0, 1]; MCC, Pearson and Spearman in [−1, 1].
 * - Undefined values are 0, not NaN: an empty input, F1 with no true positive, MCC of a
 *   constant prediction, a correlation with a constant side. The trainer picks checkpoints by
 *   comparing these numbers, and NaN would make every comparison false.
 * - F1 is the F1 of the positive class (GLUE MRPC/QQP); macroF1 averages over all
 *   `numLabels` classes, a class absent from both sides counting 0 (scikit-learn with
 *   `labels=range(K)`, zero_division=0).
 * - MCC is scikit-learn's matthews_corrcoef: the binary MCC, and Gorodkin's R_K for K > 2.
 * - Spearman is Pearson on ranks, ties sharing their average rank (scipy.stats.spearmanr).
 * - Text metrics take token lists from `tokenizeForMetrics` (lowercased, punctuation split),
 *   so that hypotheses and references are tokenized alike whatever the model's tokenizer.
 * - BLEU is corpus BLEU-4 as multi-bleu.perl / sacrebleu (tokenize='none', smooth='none')
 *   compute it: clipped n-gram matches and n-gram totals summed over the corpus, geometric
 *   mean of the precisions, brevity penalty from the reference length closest to each
 *   hypothesis length (a tie goes to the shorter reference); 0 when any precision is 0.
 * - ROUGE-L is the E2E NLG challenge's (pycocoevalcap `Rouge`, β = 1.2): per sentence the
 *   maxima over references of LCS precision and of LCS recall, combined into F_β; the corpus
 *   score is the mean over sentences.
 */

function checkLengths(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} predictions for ${b.length} gold values`);
}

/** Fraction of positions where pred equals gold, in [0, 1]; 0 for empty input. */
export function accuracy(pred: number[], gold: number[]): number {
  checkLengths(pred, gold, 'accuracy');
  if (pred.length === 0) return 0;
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === gold[i]) hit++;
  return hit / pred.length;
}

/** True positives, false positives and false negatives of one class. */
function counts(pred: number[], gold: number[], cls: number): { tp: number; fp: number; fn: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] === cls;
    const g = gold[i] === cls;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  return { tp, fp, fn };
}

/** F1 of the class `positive` (GLUE MRPC/QQP), in [0, 1]; 0 when there is no true positive. */
export function f1(pred: number[], gold: number[], positive = 1): number {
  checkLengths(pred, gold, 'f1');
  const { tp, fp, fn } = counts(pred, gold, positive);
  // 2PR/(P+R) written on counts: defined whenever tp > 0, and tp = 0 means P·R = 0 anyway.
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Unweighted mean of the per-class F1 over classes 0..numLabels−1, in [0, 1]. */
export function macroF1(pred: number[], gold: number[], numLabels: number): number {
  checkLengths(pred, gold, 'macroF1');
  if (numLabels <= 0) return 0;
  let s = 0;
  for (let c = 0; c < numLabels; c++) s += f1(pred, gold, c);
  return s / numLabels;
}

/** Matthews correlation in [−1, 1] (binary MCC; Gorodkin's R_K for more classes); 0 when undefined. */
export function matthews(pred: number[], gold: number[], numLabels?: number): number {
  checkLengths(pred, gold, 'matthews');
  if (numLabels !== undefined) {
    for (const v of [...pred, ...gold]) {
      if (!Number.isInteger(v) || v < 0 || v >= numLabels) throw new Error(`matthews: label ${v} outside 0..${numLabels - 1}`);
    }
  }
  // R_K = (c·s − Σ_k p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)), with c correct, s total,
  // p_k / t_k the predicted / true counts of class k; for K = 2 it is exactly the binary MCC,
  // so one formula serves both. Only the marginals matter, so a Map is enough.
  const p = new Map<number, number>();
  const t = new Map<number, number>();
  let c = 0;
  const s = pred.length;
  for (let i = 0; i < s; i++) {
    p.set(pred[i]!, (p.get(pred[i]!) ?? 0) + 1);
    t.set(gold[i]!, (t.get(gold[i]!) ?? 0) + 1);
    if (pred[i] === gold[i]) c++;
  }
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, pk] of p) {
    pt += pk * (t.get(k) ?? 0);
    pp += pk * pk;
  }
  for (const tk of t.values()) tt += tk * tk;
  const den = Math.sqrt((s * s - pp) * (s * s - tt));
  return den === 0 ? 0 : (c * s - pt) / den;
}

/** Pearson correlation in [−1, 1]; 0 when either side is constant or the input is empty. */
export function pearson(x: number[], y: number[]): number {
  checkLengths(x, y, 'pearson');
  const n = x.length;
  if (n === 0) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  // Centred two-pass sums: the one-pass Σxy − n·x̄ȳ cancels badly for large, close values.
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  // Rounding can push |r| a hair past 1 for perfectly correlated inputs.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Ranks 1..n, tied values sharing the mean of the ranks they span. */
function averageRanks(v: number[]): number[] {
  const order = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && v[order[j + 1]!] === v[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation in [−1, 1]: Pearson on average ranks (scipy's tie handling). */
export function spearman(x: number[], y: number[]): number {
  checkLengths(x, y, 'spearman');
  return pearson(averageRanks(x), averageRanks(y));
}

/** Perplexity from the mean negative log-likelihood per token in nats: exp(meanNll). */
export function perplexity(meanNll: number): number {
  return Math.exp(meanNll);
}

/** Lowercased word and punctuation tokens: "Hello, world." → ["hello", ",", "world", "."]. */
export function tokenizeForMetrics(s: string): string[] {
  // Letters, digits and combining marks form words; every other non-space character is its
  // own token, so a model is not penalized twice for glueing punctuation to a word.
  return s.toLowerCase().match(/[\p{L}\p{N}\p{M}_]+|[^\s\p{L}\p{N}\p{M}_]/gu) ?? [];
}

/** n-gram counts of one token list; keys join tokens with NUL, which no token contains. */
function ngrams(toks: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= toks.length; i++) {
    const k = toks.slice(i, i + n).join('\u0000');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Corpus BLEU in [0, 1] (multi-bleu/sacrebleu, no smoothing) with its n-gram precisions and brevity penalty. */
export function bleu(hyps: string[][], refs: string[][][], maxN = 4): { bleu: number; precisions: number[]; brevityPenalty: number } {
  if (hyps.length !== refs.length) throw new Error(`bleu: ${hyps.length} hypotheses for ${refs.length} reference sets`);
  const match = new Float64Array(Math.max(0, maxN));
  const total = new Float64Array(Math.max(0, maxN));
  let hypLen = 0;
  let refLen = 0;
  hyps.forEach((h, s) => {
    const rs = refs[s]!;
    if (rs.length === 0) throw new Error(`bleu: sentence ${s} has no reference`);
    hypLen += h.length;
    let best = rs[0]!.length;
    for (const r of rs) {
      const d = Math.abs(r.length - h.length);
      const bd = Math.abs(best - h.length);
      if (d < bd || (d === bd && r.length < best)) best = r.length;
    }
    refLen += best;
    for (let n = 1; n <= maxN; n++) {
      // Clip each hypothesis n-gram count by its largest count in any single reference.
      const maxRef = new Map<string, number>();
      for (const r of rs) for (const [k, c] of ngrams(r, n)) if (c > (maxRef.get(k) ?? 0)) maxRef.set(k, c);
      let m = 0;
      for (const [k, c] of ngrams(h, n)) m += Math.min(c, maxRef.get(k) ?? 0);
      match[n - 1] = match[n - 1]! + m;
      total[n - 1] = total[n - 1]! + Math.max(0, h.length - n + 1);
    }
  });
  const precisions = Array.from(match, (m, i) => (total[i]! > 0 ? m / total[i]! : 0));
  // An empty output gets BP = 0 (sacrebleu) rather than exp(1 − r/0) = 0 by way of −Infinity.
  const brevityPenalty = hypLen === 0 ? 0 : hypLen >= refLen ? 1 : Math.exp(1 - refLen / hypLen);
  if (maxN <= 0 || precisions.some((p) => p === 0)) return { bleu: 0, precisions, brevityPenalty };
  const logMean = precisions.reduce((a, p) => a + Math.log(p), 0) / maxN;
  return { bleu: brevityPenalty * Math.exp(logMean), precisions, brevityPenalty };
}

/** Length of the longest common subsequence (O(|a|·|b|) time, O(|b|) memory). */
function lcs(a: string[], b: string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** ROUGE-L F_β in [0, 1] as the E2E NLG scorer (pycocoevalcap Rouge): mean over sentences. */
export function rougeL(hyps: string[][], refs: string[][][], beta = 1.2): number {
  if (hyps.length !== refs.length) throw new Error(`rougeL: ${hyps.length} hypotheses for ${refs.length} reference sets`);
  if (hyps.length === 0) return 0;
  let sum = 0;
  hyps.forEach((h, s) => {
    const rs = refs[s]!;
    if (rs.length === 0) throw new Error(`rougeL: sentence ${s} has no reference`);
    // Precision and recall are maximized separately (possibly on different references), as
    // pycocoevalcap does; an empty hypothesis or reference contributes 0 instead of 0/0.
    let p = 0;
    let r = 0;
    for (const ref of rs) {
      const l = lcs(ref, h);
      if (h.length > 0) p = Math.max(p, l / h.length);
      if (ref.length > 0) r = Math.max(r, l / ref.length);
    }
    if (p > 0 && r > 0) sum += ((1 + beta * beta) * p * r) / (r + beta * beta * p);
  });
  return sum / hyps.length;
}
