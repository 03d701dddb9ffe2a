/**
 * Device physics as composed expressions: each stage (programming, drift exponents,
 * drift + 1/f read noise at t, relaxation at t) is one expression over the profile's own
 * expressions, the noise draws and a few constants, so it can run as a single pass — in the
 * native evaluator on the wasm heap when the addon is loaded (every elementwise step of a
 * stage fused, split over the cores), else as tfjs ops. Both compute the same formulas
 * (documented in devices/README.md); the native pass works in float64 and rounds once, so
 * the two agree to float32 rounding, not bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { compileExpr, type CompiledExpr } from './expr.js';
import type { DeviceProfile } from './types.js';
import { nativeAddon } from '../tensor/native.js';
import { heapBackend, heapTensor } from '../tensor/heap.js';

/** Wrap an expression (string or number) in parentheses for composition. */
const par = (e: string | number) => `(${typeof e === 'number' ? (e < 0 ? `(${e})` : String(e)) : e})`;

/** A number as expression text (negative numbers parenthesized). */
const num = (v: number) => (v < 0 ? `(${v})` : String(v));

/** Evaluate a composed stage: fused native pass on wasm, tfjs ops elsewhere. */
export function evalStage(e: CompiledExpr, vars: Record<string, tf.Tensor>, shape: number[]): tf.Tensor {
  const lib = nativeAddon();
  const h = heapBackend();
  if (lib && h && process.env.AIMC_NATIVE_PHYSICS !== '0' && !e.isConstant) {
    const out = heapTensor(h, shape);
    // Views after the allocation (it may grow the heap).
    const arrays = e.variables.map((name) => h.typedArrayFromHeap(vars[name]!));
    lib.evalExpr(e.program, e.stackDepth, arrays, h.typedArrayFromHeap(out));
    return out;
  }
  return tf.tidy(() => {
    const t = e.tensor(vars);
    return t.shape.length === shape.length ? t : tf.broadcastTo(t, shape);
  });
}

/** The composed stages of one profile. */
export class PhysicsStages {
  private readonly opts: { constants: Record<string, number>; defs: Record<string, string> };
  /** g_prog = max(0, g + s_prog·std(g)·ε) */
  readonly program: CompiledExpr;
  /** ν = |μ(g) + σ(g)·ε|·s_drift (or max(0, …)); null without drift */
  readonly nu: CompiledExpr | null;
  private readonly atCache = new Map<number, CompiledExpr | null>();
  private readonly relaxCache = new Map<number, CompiledExpr | null>();

  constructor(private readonly p: DeviceProfile) {
    this.opts = { constants: { gMax: p.conductance.gMax, gMin: p.conductance.gMin }, defs: { r: 'g / gMax', rProg: 'abs(gProg) / gMax' } };
    const s = p.scales;
    this.program = this.compile(`max(0, g + ${num(s.programming)} * ${par(p.programming.std)} * eps)`, ['g', 'r', 'eps', 'gMax', 'gMin']);
    if (p.drift) {
      const raw = `${par(p.drift.nuMean)} + ${par(p.drift.nuStd)} * eps`;
      const folded = p.drift.nuDistribution === 'folded-normal' ? `abs(${raw})` : `max(0, ${raw})`;
      this.nu = this.compile(`${folded} * ${num(s.drift)}`, ['g', 'r', 'eps', 'gMax', 'gMin']);
    } else {
      this.nu = null;
    }
  }

  private compile(src: string, allowed: string[]): CompiledExpr {
    return compileExpr(src, allowed, this.opts);
  }

  /**
   * Drift and accumulated read noise at t: g_d = g_prog·exp(−ν·ln((t+t0)/t0)), then
   * max(0, g_d + |g_d|·s_read·Q(g_prog)·sqrt(ln((t+t0+tRead)/(2 tRead)))·ε). Null when the
   * conductance does not change (no drift or t = 0, and no read noise).
   */
  at(t: number): CompiledExpr | null {
    if (this.atCache.has(t)) return this.atCache.get(t)!;
    const p = this.p;
    const t0 = p.drift?.t0 ?? 0;
    const gd = p.drift && t > 0 ? `(gProg * exp(-nu * ${num(Math.log((t + t0) / t0))}))` : 'gProg';
    let src: string | null = gd === 'gProg' ? null : gd;
    if (p.readNoise) {
      const k = Math.sqrt(Math.max(0, Math.log((t + t0 + p.readNoise.tRead) / (2 * p.readNoise.tRead)))) * p.scales.read;
      if (k > 0) src = `max(0, ${gd} + abs(${gd}) * ${par(p.readNoise.q)} * ${num(k)} * eps)`;
    }
    const e = src === null ? null : this.compile(src, ['gProg', 'rProg', 'nu', 'eps', 'gMax', 'gMin']);
    this.atCache.set(t, e);
    return e;
  }

  /**
   * Relaxation at t: the spread σ(t) interpolated in ln t between measured points; the
   * increment over the programming spread is added: max(0, gCur + s_read·sqrt(max(σ(t)² −
   * (s_prog·std)², 0))·ε). Null without relaxation data.
   */
  relax(t: number): CompiledExpr | null {
    if (this.relaxCache.has(t)) return this.relaxCache.get(t)!;
    const rel = this.p.relaxation;
    let e: CompiledExpr | null = null;
    if (rel && rel.points.length) {
      const pts = rel.points;
      let sigma: string;
      const first = pts[0]!;
      const last = pts[pts.length - 1]!;
      if (pts.length === 1 || t <= first.t) sigma = par(first.std);
      else {
        let i = pts.findIndex((q) => q.t >= t) - 1;
        if (i < 0 && rel.beyondLast === 'hold') sigma = par(last.std);
        else {
          if (i < 0) i = pts.length - 2;
          const a = pts[i]!;
          const b = pts[i + 1]!;
          const w = (Math.log(t) - Math.log(a.t)) / (Math.log(b.t) - Math.log(a.t));
          sigma = `(${num(1 - w)} * ${par(a.std)} + ${num(w)} * ${par(b.std)})`;
        }
      }
      const s0 = `(${num(this.p.scales.programming)} * ${par(this.p.programming.std)})`;
      e = this.compile(`max(0, gCur + ${num(this.p.scales.read)} * sqrt(max(${sigma}^2 - ${s0}^2, 0)) * eps)`, ['g', 'r', 'gCur', 'eps', 'gMax', 'gMin']);
    }
    this.relaxCache.set(t, e);
    return e;
  }
}
