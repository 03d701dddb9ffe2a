/**
 * Summary statistics on plain arrays, shared by deployments (trials per time) and the report
 * (seeds and trials per cell, head-to-head comparisons).
 */

/** Mean and sample std of `values`. */
export function meanStd(values: number[]): { mean: number; std: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

/** Mean and standard error of the mean of `values`. */
export function meanSe(v: number[]): { mean: number; se: number } {
  const { mean, std } = meanStd(v);
  return { mean, se: std / Math.sqrt(Math.max(v.length, 1)) };
}

/** t_{0.975, df} for df = 1…30 (standard tables); 1.96 beyond. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Two-sided 95 % critical value of Student's t with `df` degrees of freedom (Infinity for df < 1). */
export function tCritical(df: number): number {
  if (df < 1) return Infinity;
  return T975[Math.floor(df) - 1] ?? 1.96;
}
