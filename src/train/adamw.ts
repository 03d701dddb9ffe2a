/**
 * AdamW (PyTorch's update rule, decoupled weight decay) with global-norm gradient clipping;
 * the per-variable update is the adamwUpdate kernel (src/tensor/kernels/adamw.ts). tf.train.adam
 * issued ~7 small kernels per variable per step; for a transformer's ~50 variables that was
 * ~35 ms of a 176 ms step on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { adamwUpdate } from '../tensor/kernels/index.js';

export interface AdamWOptions {
  /** Learning rate (may be changed between steps by a schedule). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay λ (0 = Adam). */
  weightDecay?: number;
}

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly slots = new Map<tf.Variable, Slot>();

  constructor(o: AdamWOptions) {
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
  }

  /** Steps taken so far. */
  get step(): number {
    return this.t;
  }

  private slot(v: tf.Variable): Slot {
    let s = this.slots.get(v);
    if (!s) {
      // A variable keeps its own reference to the initial value; the zeros are freed with it.
      const zeros = () => {
        const z = tf.zerosLike(v);
        const slot = tf.variable(z, false);
        z.dispose();
        return slot;
      };
      s = { m: zeros(), v: zeros() };
      this.slots.set(v, s);
    }
    return s;
  }

  /**
   * Compute gradients of the scalar loss f with respect to vars, clip them to a global L2
   * norm of `clip` (if given), and apply one update; returns the loss (caller disposes).
   */
  minimize(f: () => tf.Scalar, vars: tf.Variable[], clip?: number): tf.Scalar {
    const { value, grads } = tf.variableGrads(f, vars);
    if (clip !== undefined && clip > 0) {
      const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
      if (norm > clip) {
        for (const k of Object.keys(grads)) {
          const scaled = tf.mul(grads[k]!, clip / norm);
          grads[k]!.dispose();
          grads[k] = scaled;
        }
      }
    }
    this.apply(vars, grads);
    for (const g of Object.values(grads)) g.dispose();
    return value;
  }

  /** The moment estimates of a variable (null before its first update). */
  slotOf(v: tf.Variable): { m: tf.Variable; v: tf.Variable } | null {
    return this.slots.get(v) ?? null;
  }

  /** Restore step count and moments (from a checkpoint) for the given named variables. */
  restore(step: number, get: (name: string, which: 'm' | 'v') => Float32Array | null, params: Map<string, tf.Variable>): void {
    this.t = step;
    for (const [name, w] of params) {
      const m = get(name, 'm');
      const v = get(name, 'v');
      if (!m || !v) continue;
      const s = this.slot(w);
      for (const [slot, data] of [
        [s.m, m],
        [s.v, v],
      ] as const) {
        const init = tf.tensor(data, w.shape);
        slot.assign(init);
        init.dispose();
      }
    }
  }

  /** Apply gradients (keyed by variable name). */
  apply(vars: tf.Variable[], grads: tf.NamedTensorMap): void {
    this.t++;
    const step = {
      beta1: this.beta1,
      beta2: this.beta2,
      c1: this.lr / (1 - this.beta1 ** this.t),
      c2: 1 / Math.sqrt(1 - this.beta2 ** this.t),
      eps: this.eps,
      decay: 1 - this.lr * this.weightDecay,
    };
    for (const w of vars) {
      const g = grads[w.name];
      if (!g) continue;
      const s = this.slot(w);
      adamwUpdate(w, g, s.m, s.v, step);
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
