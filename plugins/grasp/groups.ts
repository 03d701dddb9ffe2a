/**
 * Shared by grasp and stochgrasp: contiguous groups over a site's D input features and the
 * two ways of applying per-group scales and shifts (before the projection, or folded into it).
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { LinearSite, SiteHooks } from '../../src/peft/types.js';

/**
 * Group sizes for D features in K contiguous groups: when K does not divide D, the first
 * D mod K groups get one feature more (numpy's array_split), so sizes differ by at most one.
 */
export function groupSizes(D: number, K: number): number[] {
  if (K > D) throw new Error(`groups: K = ${K} exceeds the ${D} input features of a target site`);
  const base = Math.floor(D / K);
  return Array.from({ length: K }, (_, g) => base + (g < D % K ? 1 : 0));
}

/** One-hot expansion E[K, D] (E[g, i] = 1 when feature i is in group g): per-feature values = v[1,K]·E. */
export function expansion(tf: typeof tfNs, D: number, K: number): tfNs.Tensor2D {
  const sizes = groupSizes(D, K);
  const e = new Float32Array(K * D);
  let i = 0;
  sizes.forEach((n, g) => {
    for (let j = 0; j < n; j++) e[g * D + i++] = 1;
  });
  return tf.tensor2d(e, [K, D]);
}

/**
 * Hooks applying per-feature scale s[D] and shift b[D] (given as thunks, so a stochastic
 * method can sample per step): digital = x·diag(s) + b before the projection; merged =
 * W' = diag(s)·W and bias' = bias + b·W, the same function with nothing left in the periphery.
 */
export function modulationHooks(tf: typeof tfNs, site: LinearSite, placement: 'digital' | 'merged', scale: () => tfNs.Tensor2D, shift: () => tfNs.Tensor2D): SiteHooks {
  if (placement === 'digital') return { before: (x) => tf.add(tf.mul(x, scale()), shift()) as tfNs.Tensor2D };
  return {
    weightDelta: () => tf.mul(tf.reshape(tf.sub(scale(), 1), [site.inFeatures, 1]), site.weight) as tfNs.Tensor2D,
    biasDelta: () => tf.reshape(tf.matMul(shift(), site.weight), [site.outFeatures]) as tfNs.Tensor1D,
  };
}
