/**
 * DeviceModel: a validated profile compiled to tensor physics.
 *
 * The split follows aihwkit's inference noise models — programming noise once, a drift
 * exponent per device drawn at programming, then drift + accumulated read noise evaluated
 * at any time t from the *same* programmed state — so one programmed chip can be read at
 * 1 s, 1 h and 1 y with consistent devices, as a real chip would be.
 */
import * as tf from '@tensorflow/tfjs';
import { compileExpr, type CompiledExpr } from './expr.js';
import { EXPR_VARIABLES, type DeviceProfile, type PeripherySection, type TileSection, type CostSection } from './types.js';
import { RandomStream } from '../tensor/random.js';
import { normalTensor, uniformTensor } from '../tensor/sample.js';
import { evalStage, PhysicsStages } from './fused-physics.js';

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

export class DeviceModel {
  readonly name: string;
  readonly gMin: number;
  readonly gMax: number;
  readonly levels: number | null;
  readonly periphery: PeripherySection;
  readonly tile: TileSection;
  readonly cost: CostSection;
  readonly driftCompensation: boolean;
  /** Time origin of drift and 1/f noise, s (0 without a drift section). */
  readonly t0: number;

  private readonly progStd: CompiledExpr;
  private readonly stages: PhysicsStages;
  private readonly popCache = new Map<string, { rms: number; rmsCompensated: number; gdc: number }>();

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
    this.t0 = p.drift?.t0 ?? 0;
    const tv = EXPR_VARIABLES.target;
    this.progStd = compileExpr(p.programming.std, tv);
    this.stages = new PhysicsStages(p);
  }

  /** Variables for target-conductance expressions. */
  private targetVars(g: tf.Tensor): Record<string, tf.Tensor | number> {
    return { g, r: tf.mul(g, 1 / this.gMax), gMax: this.gMax, gMin: this.gMin };
  }

  /** Programming-noise std at target conductance g (µS in, µS out), programming scale applied. */
  programNoiseStd(g: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.progStd.tensor(this.targetVars(g)), this.profile.scales.programming));
  }

  /** Programming-noise std at one target conductance (µS), for tables. */
  programNoiseStdAt(g: number): number {
    return this.progStd.scalar({ g, r: g / this.gMax, gMax: this.gMax, gMin: this.gMin }) * this.profile.scales.programming;
  }

  /** Quantize targets to the profile's finite levels (identity when continuous), µS. */
  quantizeTarget(g: tf.Tensor): tf.Tensor {
    const L = this.levels;
    if (!L) return g.clone();
    const span = this.gMax - this.gMin;
    return tf.tidy(() =>
      tf.add(tf.mul(tf.round(tf.mul(tf.sub(tf.clipByValue(g, this.gMin, this.gMax), this.gMin), (L - 1) / span)), span / (L - 1)), this.gMin),
    );
  }

  /** Drift exponents ν for targets g (drift scale applied); null when the device does not drift. */
  sampleNu(g: tf.Tensor, rng: RandomStream): tf.Tensor | null {
    if (!this.stages.nu) return null;
    const eps = normalTensor(rng, g.shape);
    const nu = evalStage(this.stages.nu, { g, eps }, g.shape);
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

  /**
   * Program target conductances (µS): level quantization, programming noise, drift
   * exponents and faults, all drawn from named children of `rng`.
   */
  program(gTargetIn: tf.Tensor, rng: RandomStream): ProgrammedDevices {
    const shape = gTargetIn.shape;
    const gTarget = this.quantizeTarget(gTargetIn);
    const faults = this.sampleFaults(shape, rng.child('faults'));
    const eps = normalTensor(rng.child('program'), shape);
    const noisy = evalStage(this.stages.program, { g: gTarget, eps }, shape);
    eps.dispose();
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
  conductanceAt(dev: ProgrammedDevices, t: number, rng: RandomStream): tf.Tensor {
    const shape = dev.gProg.shape;
    let g = dev.gProg.clone();
    const at = this.stages.at(t);
    if (at) {
      const eps = at.variables.includes('eps') ? normalTensor(rng.child('read'), shape) : null;
      const next = evalStage(at, { gProg: dev.gProg, ...(dev.nu ? { nu: dev.nu } : {}), ...(eps ? { eps } : {}) }, shape);
      eps?.dispose();
      g.dispose();
      g = next;
    }
    const relax = this.stages.relax(t);
    if (relax) {
      // The programmed spread already holds the first point's variance; only the increment
      // is drawn, so a device's deviation persists across times (independent increments).
      const eps = normalTensor(rng.child('relax'), shape);
      const next = evalStage(relax, { g: dev.gTarget, gCur: g, eps }, shape);
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

  /**
   * Program normalized weights (|w| <= 1) as the profile maps them: differential → G+ and G−
   * both programmed; single → one programmed device against a fixed mid-range reference.
   */
  programWeights(w: tf.Tensor, rng: RandomStream): ProgrammedWeights {
    const span = this.gMax - this.gMin;
    const wc = tf.clipByValue(w, -1, 1);
    if (this.profile.mapping.scheme === 'single') {
      const target = tf.tidy(() => tf.add(tf.mul(tf.add(wc, 1), span / 2), this.gMin));
      wc.dispose();
      const pos = this.program(target, rng.child('g'));
      target.dispose();
      return { pos, neg: null, dispose: () => pos.dispose() };
    }
    const tp = tf.tidy(() => tf.add(tf.mul(tf.relu(wc), span), this.gMin));
    const tn = tf.tidy(() => tf.add(tf.mul(tf.relu(tf.neg(wc)), span), this.gMin));
    wc.dispose();
    const pos = this.program(tp, rng.child('g+'));
    const neg = this.program(tn, rng.child('g-'));
    tp.dispose();
    tn.dispose();
    return { pos, neg, dispose: () => (pos.dispose(), neg.dispose()) };
  }

  /** Normalized weights read from programmed devices at time t (uncompensated). */
  weightsAt(pw: ProgrammedWeights, t: number, rng: RandomStream): tf.Tensor {
    const span = this.gMax - this.gMin;
    return tf.tidy(() => {
      const gp = this.conductanceAt(pw.pos, t, rng.child('g+'));
      if (!pw.neg) return tf.sub(tf.mul(tf.sub(gp, this.gMin), 2 / span), 1);
      const gn = this.conductanceAt(pw.neg, t, rng.child('g-'));
      return tf.div(tf.sub(gp, gn), span);
    });
  }

  /**
   * Effective std of programmed-and-drifted weights relative to max|W| at time t
   * (dimensionless), with global drift compensation when enabled (default: the profile's
   * setting). See weightPopulation() for how it is estimated.
   */
  relativeWeightNoise(t: number, opts: { compensate?: boolean; samples?: number } = {}): number {
    const pop = this.weightPopulation(t, opts.samples);
    return (opts.compensate ?? this.driftCompensation) ? pop.rmsCompensated : pop.rms;
  }

  /**
   * Weights uniform in [-1, 1] (`samples` of them, fixed internal stream, so a deterministic
   * function of profile and t; cached) programmed as the profile maps them and read at t:
   * rms error without and with global drift compensation, and the compensation factor
   * c = mean|W(0)| / mean|W(t)| such a layer would apply.
   */
  weightPopulation(t: number, samples = 65536): { rms: number; rmsCompensated: number; gdc: number } {
    const key = `${t}/${samples}`;
    const hit = this.popCache.get(key);
    if (hit) return hit;
    const rng = new RandomStream(`weightPopulation/${this.name}/${samples}`);
    const wT = tf.tensor1d(rng.child('w').uniform(new Float32Array(samples)).map((u) => 2 * u - 1));
    const pw = this.programWeights(wT, rng.child('program'));
    const [rms, rmsC, c] = tf.tidy(() => {
      const wt = this.weightsAt(pw, t, rng.child('read', t));
      const w0 = this.weightsAt(pw, 0, rng.child('read', 0));
      const gdc = tf.div(tf.mean(tf.abs(w0)), tf.maximum(tf.mean(tf.abs(wt)), 1e-12));
      const rmsOf = (w: tf.Tensor) => tf.sqrt(tf.mean(tf.square(tf.sub(w, wT))));
      return tf.stack([rmsOf(wt), rmsOf(tf.mul(wt, gdc)), gdc]).dataSync();
    }) as unknown as [number, number, number];
    pw.dispose();
    wT.dispose();
    const out = { rms, rmsCompensated: rmsC, gdc: c };
    this.popCache.set(key, out);
    return out;
  }
}

/** A weight matrix's devices after programming (neg null for single-device mapping). */
export interface ProgrammedWeights {
  readonly pos: ProgrammedDevices;
  readonly neg: ProgrammedDevices | null;
  dispose(): void;
}
