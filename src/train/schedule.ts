/**
 * What the fine-tuning and pretraining loops share: their optimization settings and the
 * learning-rate schedule (linear warmup, then linear decay to 0).
 */

/** Settings of an optimization loop (AdamW, warmup + linear decay, periodic dev evaluation). */
export interface LoopOptions {
  steps: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  evalEvery: number;
  seed: string;
}

/** Learning-rate multiplier: linear warmup to 1, then linear decay to 0 at `total`. */
export function warmupLinear(step: number, warmup: number, total: number): number {
  if (step < warmup) return (step + 1) / warmup;
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}
