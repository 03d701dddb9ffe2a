/**
 * Device physics as aihwkit's inference noise models separate it, in three named steps over
 * the profile's expressions, each compiled once per profile (the profile's expressions are
 * inlined as definitions, never pasted into formula text):
 *
 *   programming   g_prog = max(0, g + s_prog·σ_p(g)·ε), and the drift exponent drawn with it:
 *                 ν = |μ_ν(g) + σ_ν(g)·ε|·s_drift (or max(0, …) for a clipped normal)
 *   drift         g_d = g_prog·exp(−ν·L),  L = ln((a·t + t0)/t0), a = exp(Ea/k_B·(1/T_ref − 1/T))
 *                 (a = 1 at the reference temperature or without a temperature section)
 *   read noise    max(0, g_d + |g_d|·Q(g_prog)·k·ε),  k = s_read·sqrt(ln((t + t0 + tRead)/(2·tRead)))
 *   temperature   × c,  c = 1 + α·(T − T_ref) (the conductance temperature coefficient)
 *   (relaxation)  max(0, g_cur + s_read·sqrt(max(σ(t)² − (s_prog·σ_p)², 0))·ε), σ(t) interpolated
 *                 in ln t between measured points
 *
 * Drift and read noise are one pass (one kernel call) at read time; their time-dependent
 * numbers L, k (and the relaxation weights) are variables of the compiled stage, bound per t.
 * Each stage runs through the evalElementwise kernel (native engine or tfjs ops).
 */
import { compileExpr, type CompiledExpr } from './expr.js';
import type { DeviceProfile } from './types.js';

/** Variables a stage may use (the profile's own plus the noise draw and stage parameters). */
const TARGET = ['g', 'r', 'gMax', 'gMin', 'eps'];
const PROGRAMMED = ['gProg', 'rProg', 'nu', 'gMax', 'gMin', 'eps'];

/** Boltzmann constant, eV/K. */
export const BOLTZMANN_EV = 8.617333262e-5;

/** Read-temperature factors of a profile: drift time acceleration a and conductance factor c (both 1 without a temperature section). */
export function temperatureFactors(p: DeviceProfile): { accel: number; conductance: number } {
  const s = p.temperature;
  if (!s || s.operating === undefined || s.operating === s.reference) return { accel: 1, conductance: 1 };
  const T = s.operating;
  return {
    accel: Math.exp((s.driftActivationEnergy / BOLTZMANN_EV) * (1 / s.reference - 1 / T)),
    conductance: 1 + s.conductanceCoefficient * (T - s.reference),
  };
}

export class DevicePhysics {
  /** The profile's programming-noise std σ_p(g) (µS; scales not applied), for tables. */
  readonly programmingStd: CompiledExpr;
  /** Programming noise: g_prog from the target g and a normal draw eps. */
  readonly programming: CompiledExpr;
  /** Drift exponent ν from the target g and a normal draw eps; null without drift. */
  readonly driftExponent: CompiledExpr | null;
  private readonly constants: Record<string, number>;
  /** Compiled stages by variant, and stages bound to a time (every tile of every read at t asks again). */
  private readonly cache = new Map<string, CompiledExpr | null>();

  constructor(private readonly p: DeviceProfile) {
    this.constants = { gMax: p.conductance.gMax, gMin: p.conductance.gMin };
    const s = p.scales;
    this.programmingStd = this.compile('std', ['g', 'r', 'gMax', 'gMin'], {}, { std: p.programming.std });
    this.programming = this.compile('max(0, g + sProg * std * eps)', TARGET, { sProg: s.programming }, { std: p.programming.std });
    if (p.drift) {
      const src = p.drift.nuDistribution === 'folded-normal' ? 'abs(mu + sd * eps) * sDrift' : 'max(0, mu + sd * eps) * sDrift';
      this.driftExponent = this.compile(src, TARGET, { sDrift: s.drift }, { mu: p.drift.nuMean, sd: p.drift.nuStd });
    } else {
      this.driftExponent = null;
    }
  }

  private compile(
    src: string,
    allowed: string[],
    constants: Record<string, number>,
    defs: Record<string, string | number>,
    params: string[] = [],
  ): CompiledExpr {
    const all = [...allowed, ...params, ...Object.keys(constants), ...Object.keys(defs), 'r', 'rProg'];
    return compileExpr(src, [...new Set(all)], {
      constants: { ...this.constants, ...constants },
      defs: { r: 'g / gMax', rProg: 'abs(gProg) / gMax', ...defs },
    });
  }

  /**
   * The read stage at t (drift, then accumulated 1/f read noise, then the temperature factor)
   * with t's numbers bound, over gProg, nu, eps; null when the conductance does not change.
   * `atReference`: read at the profile's reference temperature (the calibration read right
   * after programming), whatever the operating temperature.
   */
  read(t: number, atReference = false): CompiledExpr | null {
    return this.once(`read@${t}/${+atReference}`, () => this.readAt(t, atReference));
  }

  /** The relaxation stage at t over g (target), gCur, eps; null without relaxation data. */
  relaxation(t: number): CompiledExpr | null {
    return this.once(`relax@${t}`, () => this.relaxationAt(t));
  }

  /** The value under `key`, made on first use (a stage compiled once per profile, or bound once per t). */
  private once<T extends CompiledExpr | null>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  private readAt(t: number, atReference: boolean): CompiledExpr | null {
    const p = this.p;
    const t0 = p.drift?.t0 ?? 0;
    const drifts = !!p.drift && t > 0;
    const k = p.readNoise ? Math.sqrt(Math.max(0, Math.log((t + t0 + p.readNoise.tRead) / (2 * p.readNoise.tRead)))) * p.scales.read : 0;
    const noisy = k > 0;
    const temp = atReference ? { accel: 1, conductance: 1 } : temperatureFactors(p);
    const warm = temp.conductance !== 1;
    if (!drifts && !noisy && !warm) return null;
    const L = drifts ? Math.log((temp.accel * t + t0) / t0) : 0;
    const stage = this.once(`read/${+drifts}${+noisy}${+warm}`, () => {
      const defs: Record<string, string | number> = { gd: drifts ? 'gProg * exp(-nu * L)' : 'gProg' };
      if (noisy) defs.q = p.readNoise!.q;
      const read = noisy ? 'max(0, gd + abs(gd) * q * k * eps)' : 'gd';
      // Without a temperature factor the stage is exactly what it was before temperatures existed.
      return this.compile(warm ? `(${read}) * cT` : read, PROGRAMMED, {}, defs, warm ? ['L', 'k', 'cT'] : ['L', 'k']);
    });
    return stage.bind(warm ? { L, k, cT: temp.conductance } : { L, k });
  }

  private relaxationAt(t: number): CompiledExpr | null {
    const rel = this.p.relaxation;
    if (!rel || !rel.points.length) return null;
    const pts = rel.points;
    // Which measured spreads σ(t) is made of: the first (before it), the last (held after it), or a segment.
    let seg: { key: string; a: number; b: number | null; wA: number; wB: number };
    if (pts.length === 1 || t <= pts[0]!.t) seg = { key: 'first', a: 0, b: null, wA: 1, wB: 0 };
    else {
      let i = pts.findIndex((q) => q.t >= t) - 1;
      if (i < 0 && rel.beyondLast === 'hold') seg = { key: 'last', a: pts.length - 1, b: null, wA: 1, wB: 0 };
      else {
        if (i < 0) i = pts.length - 2;
        const w = (Math.log(t) - Math.log(pts[i]!.t)) / (Math.log(pts[i + 1]!.t) - Math.log(pts[i]!.t));
        seg = { key: `segment-${i}`, a: i, b: i + 1, wA: 1 - w, wB: w };
      }
    }
    const stage = this.once(`relax/${seg.key}`, () => {
      const defs: Record<string, string | number> = { stdA: pts[seg.a]!.std, std0: this.p.programming.std, s0: 'sProg * std0' };
      if (seg.b === null) defs.sigma = 'stdA';
      else Object.assign(defs, { stdB: pts[seg.b]!.std, sigma: 'wA * stdA + wB * stdB' });
      const consts = { sRead: this.p.scales.read, sProg: this.p.scales.programming };
      return this.compile('max(0, gCur + sRead * sqrt(max(sigma^2 - s0^2, 0)) * eps)', [...TARGET, 'gCur'], consts, defs, ['wA', 'wB']);
    });
    return stage.bind({ wA: seg.wA, wB: seg.wB });
  }
}
