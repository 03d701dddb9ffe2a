/**
 * Linear sites: every projection of a model, named and typed by role, so a deployment can
 * put it on tiles and a plugin can hook it (ARCHITECTURE.md, "Linear site").
 */
import * as tf from '@tensorflow/tfjs';
import { addBias } from '../tensor/ops.js';
import type { RandomStream } from '../tensor/random.js';
import { normalTensor } from '../tensor/kernels/index.js';

export type SiteRole = 'attn.q' | 'attn.k' | 'attn.v' | 'attn.o' | 'ffn.in' | 'ffn.out' | 'head' | 'lm_head';

/** How a site computes: plain float, hardware-aware training, or on programmed tiles. */
export type SiteMode = 'digital' | 'hwa' | 'analog';

/** Replaces a site's matmul (x[M, in] → y[M, out], bias excluded): analog tiles, HWA noise, … */
export type SiteExecutor = (x: tf.Tensor2D, W: tf.Tensor2D) => tf.Tensor2D;

/** Hooks a plugin may install on a site. */
export interface SiteHooks {
  /** Transform the input before the projection (e.g. GRASP's digital scales and shifts). */
  before?: (x: tf.Tensor2D) => tf.Tensor2D;
  /** Transform the output (e.g. LoRA's digital branch, (IA)^3 rescaling). */
  after?: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D;
  /** A weight update merged into W before it is used (merged placements). */
  weightDelta?: () => tf.Tensor2D;
  /** A bias update merged into b (merged placements: e.g. GRASP's shifts pushed through W). */
  biasDelta?: () => tf.Tensor1D;
}

export class LinearSite {
  mode: SiteMode = 'digital';
  executor: SiteExecutor | null = null;
  hooks: SiteHooks[] = [];

  constructor(
    readonly name: string,
    readonly role: SiteRole,
    /** [in, out] */
    readonly weight: tf.Variable,
    readonly bias: tf.Variable | null,
  ) {}

  get inFeatures(): number {
    return this.weight.shape[0]!;
  }

  get outFeatures(): number {
    return this.weight.shape[1]!;
  }

  /** Parameters (weight and bias) of this site. */
  parameterCount(): number {
    return this.weight.size + (this.bias?.size ?? 0);
  }

  /** y = x·W (+ b) with hooks and the site's executor, for x[M, in]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    for (const k of this.hooks) if (k.before) h = k.before(h);
    let W: tf.Tensor2D = this.weight as tf.Tensor2D;
    for (const k of this.hooks) if (k.weightDelta) W = tf.add(W, k.weightDelta()) as tf.Tensor2D;
    let y = this.executor ? this.executor(h, W) : (tf.matMul(h, W) as tf.Tensor2D);
    let b: tf.Tensor1D | null = this.bias as tf.Tensor1D | null;
    for (const k of this.hooks) if (k.biasDelta) b = b ? (tf.add(b, k.biasDelta()) as tf.Tensor1D) : k.biasDelta();
    if (b) y = addBias(y, b);
    for (const k of this.hooks) if (k.after) y = k.after(h, y);
    return y;
  }
}

/**
 * A new site with weights ~ N(0, std) from a named stream and zero bias. tfjs variable names
 * are process-global, so they carry `varPrefix` (the model's id); the site keeps its own name.
 */
export function createSite(
  name: string,
  role: SiteRole,
  inF: number,
  outF: number,
  rng: RandomStream,
  varPrefix = '',
  std = 0.02,
  bias = true,
): LinearSite {
  // Inside tidy: a variable holds its own reference, so the initial values are released.
  const w = tf.tidy(() => tf.variable(tf.mul(normalTensor(rng.child(name), [inF, outF]), std), true, `${varPrefix}${name}.weight`));
  const b = bias ? tf.tidy(() => tf.variable(tf.zeros([outF]), true, `${varPrefix}${name}.bias`)) : null;
  return new LinearSite(name, role, w, b);
}
