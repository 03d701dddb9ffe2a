/** Aggregation of trial results: mean and sample std of a metric per time. */
import { meanStd } from '../stats/summary.js';
import type { TrialResult } from './deployment.js';

export interface TimeSummary {
  /** Seconds after programming. */
  t: number;
  mean: number;
  /** Sample standard deviation over trials (0 for one trial). */
  std: number;
  trials: number;
}

/** Per time (ascending): mean and std of `metric` over trials. */
export function summarizeByTime(results: TrialResult[], metric: string): TimeSummary[] {
  const times = [...new Set(results.map((r) => r.t))].sort((a, b) => a - b);
  return times.map((t) => {
    const vals = results.filter((r) => r.t === t).map((r) => r.metrics[metric]!);
    return { t, ...meanStd(vals), trials: vals.length };
  });
}
