import { describe, it, expect } from 'vitest';
import { accuracy, bleu, f1, macroF1, matthews, pearson, perplexity, rougeL, spearman, tokenizeForMetrics } from '../../src/task/metrics.js';

const w = (s: string) => s.split(' ');

describe('classification metrics', () => {
  // gold = 1 1 1 0 0 0 1
  // pred = 1 0 1 1 0 1 0
  // hits at 0, 2, 4 → accuracy 3/7.
  // class 1: tp {0,2} = 2, fp {3,5} = 2, fn {1,6} = 2 → F1 = 2·2/(2·2+2+2) = 1/2
  // class 0: tp {4} = 1, fp {1,6} = 2, fn {3,5} = 2 → F1 = 2/(2+2+2) = 1/3
  const gold = [1, 1, 1, 0, 0, 0, 1];
  const pred = [1, 0, 1, 1, 0, 1, 0];

  it('accuracy', () => {
    expect(accuracy(pred, gold)).toBeCloseTo(3 / 7, 12);
    expect(accuracy(gold, gold)).toBe(1);
    expect(accuracy([], [])).toBe(0);
    expect(() => accuracy([1], [1, 0])).toThrow(/1 predictions for 2/);
  });

  it('F1 of the positive class, and macro F1', () => {
    expect(f1(pred, gold)).toBeCloseTo(1 / 2, 12);
    expect(f1(pred, gold, 0)).toBeCloseTo(1 / 3, 12);
    expect(macroF1(pred, gold, 2)).toBeCloseTo((1 / 2 + 1 / 3) / 2, 12);
    // A third class that never occurs counts 0 in the average: (1/2 + 1/3 + 0)/3 = 5/18.
    expect(macroF1(pred, gold, 3)).toBeCloseTo(5 / 18, 12);
    // No true positive: 0, not NaN.
    expect(f1([0, 0], [1, 1])).toBe(0);
    expect(f1([1, 1], [1, 1])).toBe(1);
  });

  it('binary MCC on a 2×2 table', () => {
    // TP = 3, FN = 2, FP = 1, TN = 2:
    // MCC = (TP·TN − FP·FN)/sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (6 − 2)/sqrt(4·5·3·4) = 4/sqrt(240)
    const g = [1, 1, 1, 1, 1, 0, 0, 0];
    const p = [1, 1, 1, 0, 0, 1, 0, 0];
    expect(matthews(p, g)).toBeCloseTo(4 / Math.sqrt(240), 12);
    expect(matthews(p, g, 2)).toBeCloseTo(0.2581988897, 9);
    expect(matthews(g, g)).toBeCloseTo(1, 12);
    expect(matthews(g.map((x) => 1 - x), g)).toBeCloseTo(-1, 12);
    // Constant prediction: 0/0, reported as 0.
    expect(matthews([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0);
    expect(() => matthews([2], [0], 2)).toThrow(/label 2 outside 0..1/);
  });

  it('multi-class MCC (Gorodkin R_K)', () => {
    // gold = 0 0 0 1 1 2 2 2, pred = 0 0 0 0 1 1 2 2
    // s = 8, correct c = 6 (misses at 3 and 5)
    // true counts t = (3, 2, 3), predicted counts p = (4, 2, 2)
    // Σ p_k t_k = 12 + 4 + 6 = 22, Σ p² = 24, Σ t² = 22
    // R_K = (c·s − Σ p t)/sqrt((s² − Σ p²)(s² − Σ t²)) = (48 − 22)/sqrt(40·42) = 26/sqrt(1680)
    const g = [0, 0, 0, 1, 1, 2, 2, 2];
    const p = [0, 0, 0, 0, 1, 1, 2, 2];
    expect(matthews(p, g, 3)).toBeCloseTo(26 / Math.sqrt(1680), 12);
    expect(matthews(p, g)).toBeCloseTo(0.6343350474, 9);
  });
});

describe('correlations and perplexity', () => {
  it('Pearson', () => {
    // x = 1 2 3 (mean 2), y = 2 4 7 (mean 13/3)
    // dx = −1 0 1, dy = −7/3 −1/3 8/3: Σdxdy = 15/3 = 5, Σdx² = 2, Σdy² = 114/9
    // r = 5/sqrt(2·114/9) = 15/sqrt(228)
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(15 / Math.sqrt(228), 12);
    expect(pearson([1, 2, 3], [-2, -4, -6])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBe(0);
  });

  it('Spearman gives tied values their average rank', () => {
    // x = 1 2 2 3 → ranks 1 2.5 2.5 4; y = 1 3 2 4 → ranks 1 3 2 4; both rank means 2.5
    // dx = −1.5 0 0 1.5, dy = −1.5 0.5 −0.5 1.5: Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5
    // ρ = 4.5/sqrt(4.5·5) = sqrt(0.9). (Ordinal ranks 1 2 3 4 for x would give 0.8.)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(Math.sqrt(0.9), 12);
    // Monotone but not linear: Spearman 1, Pearson below 1.
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [1, 8, 27, 64])).toBeLessThan(0.99);
  });

  it('perplexity is exp of the mean NLL', () => {
    expect(perplexity(Math.log(7))).toBeCloseTo(7, 12);
    expect(perplexity(0)).toBe(1);
  });
});

describe('tokenizeForMetrics', () => {
  it('lowercases and splits punctuation from words', () => {
    expect(tokenizeForMetrics('Hello, world.')).toEqual(['hello', ',', 'world', '.']);
    expect(tokenizeForMetrics("The Eagle's  £20-25\tprice")).toEqual(['the', 'eagle', "'", 's', '£', '20', '-', '25', 'price']);
    expect(tokenizeForMetrics('  ')).toEqual([]);
  });
});

describe('BLEU', () => {
  // Sentence 1: hyp "the cat sat on the mat" (6)
  //   A = "the cat is sitting on the mat" (7), B = "there is a cat on the mat" (7) → r = 7
  //   1-grams: the×2 (clip by max over refs: A has 2) 2, cat 1, sat 0, on 1, mat 1 → 5/6
  //   2-grams: the cat ✓, cat sat ✗, sat on ✗, on the ✓, the mat ✓ → 3/5
  //   3-grams: the cat sat ✗, cat sat on ✗, sat on the ✗, on the mat ✓ → 1/4
  //   4-grams: the cat sat on ✗, cat sat on the ✗, sat on the mat ✗ → 0/3
  // Sentence 2: hyp "it is a nice nice day" (6)
  //   C = "it is a nice day today" (6), D = "what a nice day it is today" (7) → r = 6
  //   1-grams: it 1, is 1, a 1, nice×2 clipped to 1 (one in C, one in D; max not sum), day 1 → 5/6
  //   2-grams: it is ✓, is a ✓, a nice ✓, nice nice ✗, nice day ✓ → 4/5
  //   3-grams: it is a ✓, is a nice ✓, a nice nice ✗, nice nice day ✗ → 2/4
  //   4-grams: it is a nice ✓, is a nice nice ✗, a nice nice day ✗ → 1/3
  // Corpus: p1 = 10/12, p2 = 7/10, p3 = 3/8, p4 = 1/6; c = 12, r = 13 → BP = exp(1 − 13/12)
  // BLEU = exp(−1/12)·(10/12 · 7/10 · 3/8 · 1/6)^(1/4) = exp(−1/12)·(105/2880)^(1/4) ≈ 0.40203
  const hyps = [w('the cat sat on the mat'), w('it is a nice nice day')];
  const refs = [
    [w('the cat is sitting on the mat'), w('there is a cat on the mat')],
    [w('it is a nice day today'), w('what a nice day it is today')],
  ];

  it('corpus BLEU sums clipped counts over sentences and applies the brevity penalty', () => {
    const r = bleu(hyps, refs);
    expect(r.precisions.length).toBe(4);
    [10 / 12, 7 / 10, 3 / 8, 1 / 6].forEach((p, i) => expect(r.precisions[i]).toBeCloseTo(p, 12));
    expect(r.brevityPenalty).toBeCloseTo(Math.exp(1 - 13 / 12), 12);
    expect(r.bleu).toBeCloseTo(Math.exp(-1 / 12) * Math.pow(105 / 2880, 1 / 4), 12);
    expect(r.bleu).toBeCloseTo(0.40203, 4);
  });

  it('is 0 when some n-gram order has no match (no smoothing)', () => {
    // Sentence 1 alone: precisions 5/6, 3/5, 1/4, 0 → BLEU 0; c = 6 < r = 7 → BP = exp(1 − 7/6).
    const r = bleu([hyps[0]!], [refs[0]!]);
    [5 / 6, 3 / 5, 1 / 4, 0].forEach((p, i) => expect(r.precisions[i]).toBeCloseTo(p, 12));
    expect(r.brevityPenalty).toBeCloseTo(Math.exp(1 - 7 / 6), 12);
    expect(r.bleu).toBe(0);
    // With maxN = 3 the same sentence scores exp(1 − 7/6)·(5/6 · 3/5 · 1/4)^(1/3).
    expect(bleu([hyps[0]!], [refs[0]!], 3).bleu).toBeCloseTo(Math.exp(1 - 7 / 6) * Math.pow(1 / 8, 1 / 3), 12);
  });

  it('is 1 for a perfect match, and an equally close shorter reference sets the length', () => {
    expect(bleu(hyps, [[hyps[0]!], [w('x'), hyps[1]!]]).bleu).toBeCloseTo(1, 12);
    // hyp length 5, references of length 4 and 6 are both 1 away: the shorter (4) is used,
    // so c = 5 > r = 4 → BP = 1; every n-gram is in the 6-token reference → BLEU = 1.
    // (Taking the longer one would give exp(1 − 6/5).)
    const r = bleu([w('a b c d e')], [[w('a b c d'), w('a b c d e f')]]);
    expect(r.brevityPenalty).toBe(1);
    expect(r.bleu).toBeCloseTo(1, 12);
  });

  it('an empty output scores 0', () => {
    const r = bleu([[]], [[w('a b')]]);
    expect(r.bleu).toBe(0);
    expect(r.brevityPenalty).toBe(0);
    expect(() => bleu([[]], [])).toThrow(/1 hypotheses for 0 reference sets/);
  });
});

describe('ROUGE-L', () => {
  // β² = 1.44. F = (1 + β²)·P·R/(R + β²·P)
  const F = (p: number, r: number) => (2.44 * p * r) / (r + 1.44 * p);

  it('uses the LCS with each reference and the maxima of precision and recall', () => {
    // hyp "the cat sat on the mat" (6)
    //   A "the cat is sitting on the mat" (7): LCS "the cat on the mat" = 5 → P 5/6, R 5/7
    //   B "there is a cat on the mat" (7): LCS "cat on the mat" = 4 → P 4/6, R 4/7
    // P = 5/6, R = 5/7 → F = 2.44·(25/42)/(5/7 + 1.2) ≈ 0.758706
    const h = w('the cat sat on the mat');
    const rs = [w('the cat is sitting on the mat'), w('there is a cat on the mat')];
    expect(rougeL([h], [rs])).toBeCloseTo(F(5 / 6, 5 / 7), 12);
    expect(rougeL([h], [rs])).toBeCloseTo(0.758706, 5);
  });

  it('takes precision and recall maxima from different references (pycocoevalcap), mean over sentences', () => {
    // hyp "a b c": ref "a b c d e f" gives LCS 3 → P 1, R 1/2; ref "a" gives LCS 1 → P 1/3, R 1.
    // Max P = 1 and max R = 1 → F = 1 (the best single reference would give F(1, 1/2) < 1).
    const s2 = rougeL([w('a b c')], [[w('a b c d e f'), w('a')]]);
    expect(s2).toBeCloseTo(1, 12);
    expect(F(1, 1 / 2)).toBeLessThan(0.99);
    const both = rougeL([w('the cat sat on the mat'), w('a b c')], [[w('the cat is sitting on the mat')], [w('a b c d e f'), w('a')]]);
    expect(both).toBeCloseTo((F(5 / 6, 5 / 7) + 1) / 2, 12);
  });

  it('is 1 for a perfect match and 0 without a common token', () => {
    expect(rougeL([w('x y z')], [[w('x y z')]])).toBeCloseTo(1, 12);
    expect(rougeL([w('x y z')], [[w('p q')]])).toBe(0);
    expect(rougeL([[]], [[w('p q')]])).toBe(0);
    // β matters: P = 1, R = 1/2 with β = 1 gives the harmonic mean 2/3.
    expect(rougeL([w('a b')], [[w('a b c d')]], 1)).toBeCloseTo(2 / 3, 12);
  });
});
