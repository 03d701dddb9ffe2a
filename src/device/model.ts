/**
 * DeviceModel: a validated profile compiled to tensor physics (conductances in µS; how
 * weights map onto conductances is the crossbar's job, src/crossbar/mapping.ts).
 *
 * The split follows aihwkit's inference noise models — programming noise once, a drift
 * exponent per device drawn at programming, then drift + accumulated read noise evaluated
 * at any time t from the *same* programmed state — so one programmed chip can be read at
 * 1 s, 1 h and 1 y with consistent devices, as a real chip would be.
 */
import * as tf from '@tensorflow/tfjs';
import { erf } from 'mathjs';
import { type DeviceProfile, type PeripherySection, type TileSection, type CostSection } from './types.js';
import { RandomStream } from '../tensor/random.js';
import { evalElementwise, normalTensor, uniformTensor } from '../tensor/kernels/index.js';
import { DevicePhysics } from './physics.js';

/** What programming leaves behind on one set of devices; every tensor has the target's shape. */
export interface ProgrammedDevices {
  /** Targets after level quantization, µS. */
  readonly gTarget: tf.Tensor;
  /** Conductances right after programming (programming noise, faults), µS. */
  readonly gProg: tf.Tensor;
  /** Drift exponent per device (null when the profile has no drift). */
  readonly nu: tf.Tensor | null;
  /** 1 where a device is stuck (it ignores drift and noise), else 0; null when no faults. */
  readonly stuck: tf.Tensor | null;
  /** Free every tensor held. */
  dispose(): void;
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return (1 + erf(x / Math.SQRT2)) / 2;
}

export class DeviceModel {
  readonly name: string;
  readonly gMin: number;
  readonly gMax: number;
  readonly levels: number | null;
  readonly periphery: PeripherySection;
  readonly tile: TileSection;
  readonly cost: CostSection;
  readonly driftCompensation: boolean;
  /** Compensation per tile column (aihwkit PerColumnDriftCompensation) instead of one factor per layer. */
  readonly columnCompensation: boolean;

  private readonly physics: DevicePhysics;

  constructor(readonly profile: DeviceProfile) {
    const p = profile;
    this.name = p.name;
    this.gMin = p.conductance.gMin;
    this.gMax = p.conductance.gMax;
    this.levels = p.conductance.levels;
    this.periphery = p.periphery;
    this.tile = p.tile;
    this.cost = p.cost;
    this.driftCompensation = p.driftCompensation.enabled;
    this.columnCompensation = p.driftCompensation.enabled && p.driftCompensation.granularity === 'column';
    this.physics = new DevicePhysics(p);
  }

  /** Programming-noise std at one target conductance (µS), for tables. */
  programNoiseStdAt(g: number): number {
    return this.physics.programmingStd.scalar({ g }) * this.profile.scales.programming;
  }

  /** Quantize targets to the profile's finite levels (identity when continuous), µS. */
  quantizeTarget(g: tf.Tensor): tf.Tensor {
    const L = this.levels;
    if (!L) return g.clone();
    const span = this.gMax - this.gMin;
    return tf.tidy(() =>
      tf.add(
        tf.mul(tf.round(tf.mul(tf.sub(tf.clipByValue(g, this.gMin, this.gMax), this.gMin), (L - 1) / span)), span / (L - 1)),
        this.gMin,
      ),
    );
  }

  /** Drift exponents ν for targets g (drift scale applied); null when the device does not drift. */
  sampleNu(g: tf.Tensor, rng: RandomStream): tf.Tensor | null {
    if (!this.physics.driftExponent) return null;
    const eps = normalTensor(rng, g.shape);
    const nu = evalElementwise(this.physics.driftExponent, { g, eps }, g.shape);
    eps.dispose();
    return nu;
  }

  /** Stuck-at masks: returns [stuck (1/0), value where stuck (µS)], or null without faults. */
  private sampleFaults(shape: number[], rng: RandomStream): [tf.Tensor, tf.Tensor] | null {
    const { stuckAtGMin: pMin, stuckAtGMax: pMax } = this.profile.faults;
    if (pMin <= 0 && pMax <= 0) return null;
    return tf.tidy(() => {
      const u = uniformTensor(rng, shape);
      const atMin = tf.cast(tf.less(u, pMin), 'float32');
      const atMax = tf.cast(tf.logicalAnd(tf.greaterEqual(u, pMin), tf.less(u, pMin + pMax)), 'float32');
      return [tf.add(atMin, atMax), tf.add(tf.mul(atMin, this.gMin), tf.mul(atMax, this.gMax))] as [tf.Tensor, tf.Tensor];
    }) as [tf.Tensor, tf.Tensor];
  }

  /** Replace stuck devices' conductances by their stuck value. */
  applyFaults(g: tf.Tensor, stuck: tf.Tensor | null, stuckValue: tf.Tensor | null): tf.Tensor {
    if (!stuck || !stuckValue) return g.clone();
    return tf.tidy(() => tf.add(tf.mul(g, tf.sub(1, stuck)), stuckValue));
  }

  /** One programming pulse per device: g + programming error, µS (draws from `rng`). */
  private pulse(gTarget: tf.Tensor, rng: RandomStream): tf.Tensor {
    const eps = normalTensor(rng, gTarget.shape);
    const g = evalElementwise(this.physics.programming, { g: gTarget, eps }, gTarget.shape);
    eps.dispose();
    return g;
  }

  /**
   * Programmed conductances, µS. With write-verify, every device whose result is off its
   * target by more than the tolerance is programmed again (a fresh error), up to `iterations`
   * pulses; the last pulse is kept whatever it gives. Pulse k ≥ 2 draws from rng/program-k.
   */
  private programVerified(gTarget: tf.Tensor, rng: RandomStream): tf.Tensor {
    let g = this.pulse(gTarget, rng.child('program'));
    const wv = this.profile.programming.writeVerify;
    for (let k = 2; wv && k <= wv.iterations; k++) {
      const retry = this.pulse(gTarget, rng.child(`program-${k}`));
      const next = tf.tidy(() => tf.where(tf.greater(tf.abs(tf.sub(g, gTarget)), wv.tolerance), retry, g));
      g.dispose();
      retry.dispose();
      g = next;
    }
    return g;
  }

  /** Expected programming pulses per device at target g (µS) under write-verify (1 without it). */
  expectedPulses(g: number): number {
    const wv = this.profile.programming.writeVerify;
    if (!wv || wv.iterations <= 1) return 1;
    const sigma = this.programNoiseStdAt(g);
    if (sigma === 0) return 1;
    // A pulse misses with q = P(|N(0, σ)| > τ); the k-th pulse happens after k − 1 misses.
    const q = 2 * (1 - normalCdf(wv.tolerance / sigma));
    return q === 1 ? wv.iterations : (1 - q ** wv.iterations) / (1 - q);
  }

  /**
   * Program target conductances (µS): level quantization, programming noise, drift
   * exponents and faults, all drawn from named children of `rng`.
   */
  program(gTargetIn: tf.Tensor, rng: RandomStream): ProgrammedDevices {
    const shape = gTargetIn.shape;
    const gTarget = this.quantizeTarget(gTargetIn);
    const faults = this.sampleFaults(shape, rng.child('faults'));
    const noisy = this.programVerified(gTarget, rng);
    let gProg = noisy;
    if (faults) {
      gProg = this.applyFaults(noisy, faults[0], faults[1]);
      noisy.dispose();
    }
    const nu = this.sampleNu(gTarget, rng.child('drift'));
    const stuck = faults ? faults[0] : null;
    faults?.[1].dispose();
    return {
      gTarget,
      gProg,
      nu,
      stuck,
      dispose() {
        gTarget.dispose();
        gProg.dispose();
        nu?.dispose();
        stuck?.dispose();
      },
    };
  }

  /**
   * Conductances (µS) at t seconds after programming, from the same programmed devices:
   * drift g_prog·((t+t0)/t0)^-ν, then accumulated 1/f read noise and relaxation drawn
   * fresh from `rng` (one read), stuck devices unchanged.
   */
  conductanceAt(dev: ProgrammedDevices, t: number, rng: RandomStream, opts: { atReference?: boolean } = {}): tf.Tensor {
    const shape = dev.gProg.shape;
    let g = dev.gProg.clone();
    const at = this.physics.read(t, opts.atReference ?? false);
    if (at) {
      const eps = at.variables.includes('eps') ? normalTensor(rng.child('read'), shape) : null;
      const next = evalElementwise(at, { gProg: dev.gProg, ...(dev.nu ? { nu: dev.nu } : {}), ...(eps ? { eps } : {}) }, shape);
      eps?.dispose();
      g.dispose();
      g = next;
    }
    const relax = this.physics.relaxation(t);
    if (relax) {
      // The programmed spread already holds the first point's variance; only the increment
      // is drawn, so a device's deviation persists across times (independent increments).
      const eps = normalTensor(rng.child('relax'), shape);
      const next = evalElementwise(relax, { g: dev.gTarget, gCur: g, eps }, shape);
      eps.dispose();
      g.dispose();
      g = next;
    }
    if (dev.stuck) {
      // Stuck devices keep their programmed (stuck) value through drift and noise.
      const next = tf.tidy(() => tf.add(tf.mul(g, tf.sub(1, dev.stuck!)), tf.mul(dev.gProg, dev.stuck!)));
      g.dispose();
      g = next;
    }
    return g;
  }
}
