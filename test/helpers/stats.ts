/** Statistics helpers for tests: closed-form normal CDF and Monte Carlo tolerances. */

/** Complementary error function (Numerical Recipes erfcc; |relative error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
export function phi(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Sample mean, (n−1) variance, and 4th central moment of an array. */
export function moments(xs: ArrayLike<number>): { mean: number; variance: number; m4: number; n: number } {
  const n = xs.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i]!;
  const mean = s / n;
  let v = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - mean;
    v += d * d;
    m4 += d * d * d * d;
  }
  return { mean, variance: v / (n - 1), m4: m4 / n, n };
}

/**
 * z-sigma tolerances for the sample mean and sample std of n draws, from the sample's
 * own moments: SE(mean) = s/√n, SE(std) ≈ sqrt((m4 − s⁴)/n) / (2s).
 */
export function tolerances(xs: ArrayLike<number>, z = 5): { mean: number; std: number } {
  const { variance, m4, n } = moments(xs);
  const s = Math.sqrt(variance);
  return { mean: (z * s) / Math.sqrt(n), std: (z * Math.sqrt(Math.max(m4 - variance * variance, 0) / n)) / (2 * s) };
}
