/**
 * Seeded, named random streams.
 *
 * A stream is identified by a path such as `42/trial-3/encoder.0.attn.q/program`; the same
 * path always yields the same draws, and any two paths are independent for all practical
 * purposes. The generator is seedrandom's Tyche-i (`seedrandom.tychei`): we let seedrandom
 * derive the 128-bit state from the path (so a stream is exactly `seedrandom.tychei(path)`,
 * which a test checks), then run the same recurrence inlined in tight loops, because going
 * through seedrandom's per-call closure costs ~4x. Gaussians use the Marsaglia–Tsang ziggurat
 * (128 layers): ~99% of draws need one 32-bit integer and one multiply, which is what lets
 * JS reach >100M samples/s on one core where Box–Muller manages ~30M.
 */
import seedrandom from 'seedrandom';

/** 2^-32: maps an unsigned 32-bit integer to [0, 1). */
const INV_2_32 = 1 / 4294967296;

// Ziggurat tables (Marsaglia & Tsang 2000, "The Ziggurat Method for Generating Random
// Variables", J. Stat. Softw. 5(8)), 128 layers, for the standard normal.
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const KN = new Int32Array(128);
const WN = new Float64Array(128);
const FN = new Float64Array(128);
{
  const m1 = 2147483648.0;
  let dn = ZIG_R;
  let tn = dn;
  const q = ZIG_V / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * m1);
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1.0;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZIG_V / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
}

/** The ziggurat tables, for a native sampler that must reproduce these draws exactly. */
export const ZIGGURAT_TABLES = { kn: KN, wn: WN, fn: FN } as const;

/** A native implementation of the same loops, advancing the Int32Array state in place. */
export interface NativeSampler {
  fillNormal(state: Int32Array, out: Float32Array): void;
  fillUniform(state: Int32Array, out: Float32Array): void;
}

let nativeSampler: NativeSampler | null = null;
/** Below this many draws the N-API call costs more than the JS loop. */
const NATIVE_MIN = 256;

/** Route large Float32 draws through a native sampler (null restores the JS loops). */
export function setNativeSampler(s: NativeSampler | null): void {
  nativeSampler = s;
}

/** The four 32-bit words of a Tyche-i state. */
export interface StreamState {
  a: number;
  b: number;
  c: number;
  d: number;
}

/** A seeded source of uniform and Gaussian draws; advancing it is the only side effect. */
export class RandomStream {
  private readonly s: Int32Array;

  /** Stream for `path` (any string); identical paths give identical draws. */
  constructor(readonly path: string, state?: StreamState) {
    const st = state ?? (seedrandom.tychei(path, { state: true }) as unknown as { state(): StreamState }).state();
    this.s = new Int32Array([st.a, st.b, st.c, st.d]);
  }

  /** A child stream `path/name`: independent of this one and of its other children. */
  child(...names: (string | number)[]): RandomStream {
    return new RandomStream([this.path, ...names].join('/'));
  }

  /** Current generator state (to checkpoint a stream mid-way). */
  state(): StreamState {
    return { a: this.s[0]!, b: this.s[1]!, c: this.s[2]!, d: this.s[3]! };
  }

  /** Next raw signed 32-bit integer; identical to seedrandom.tychei(path).int32(). */
  int32(): number {
    const s = this.s;
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
    b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
    b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
    s[0] = a; s[1] = b; s[2] = c; s[3] = d;
    return a;
  }

  /** Fill `out` with U[0,1) draws (32-bit resolution); returns `out`. */
  uniform<T extends Float32Array | Float64Array>(out: T): T;
  uniform(n: number): Float32Array;
  uniform(out: Float32Array | Float64Array | number): Float32Array | Float64Array {
    const arr = typeof out === 'number' ? new Float32Array(out) : out;
    if (nativeSampler && arr instanceof Float32Array && arr.length >= NATIVE_MIN) {
      nativeSampler.fillUniform(this.s, arr);
      return arr;
    }
    const s = this.s;
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
    const n = arr.length;
    for (let k = 0; k < n; k++) {
      b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
      b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
      // Float32 rounding could map values just below 1 to exactly 1; keep the interval half-open.
      const u = (a >>> 0) * INV_2_32;
      arr[k] = u;
    }
    if (arr instanceof Float32Array) {
      for (let k = 0; k < n; k++) if (arr[k] === 1) arr[k] = 0.99999994;
    }
    s[0] = a; s[1] = b; s[2] = c; s[3] = d;
    return arr;
  }

  /** Fill `out` (or a new Float32Array of that length) with N(0,1) draws; returns it. */
  normal<T extends Float32Array | Float64Array>(out: T): T;
  normal(n: number): Float32Array;
  normal(out: Float32Array | Float64Array | number): Float32Array | Float64Array {
    const arr = typeof out === 'number' ? new Float32Array(out) : out;
    if (nativeSampler && arr instanceof Float32Array && arr.length >= NATIVE_MIN) {
      nativeSampler.fillNormal(this.s, arr);
      return arr;
    }
    return this.normalJS(arr);
  }

  /** The JS ziggurat loop (also the reference the native sampler is tested against). */
  normalJS<T extends Float32Array | Float64Array>(arr: T): T {
    const s = this.s;
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
    const n = arr.length;
    for (let k = 0; k < n; k++) {
      b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
      b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
      let hz = a;
      let iz = hz & 127;
      if ((hz < 0 ? -hz : hz) < KN[iz]!) {
        arr[k] = hz * WN[iz]!;
        continue;
      }
      // Slow path (~1%): wedge or tail of the ziggurat; same integer stream, so still seeded.
      let x = 0;
      for (;;) {
        x = hz * WN[iz]!;
        if (iz === 0) {
          let y: number;
          do {
            b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
            b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
            const u1 = ((a >>> 0) + 0.5) * INV_2_32;
            b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
            b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
            const u2 = ((a >>> 0) + 0.5) * INV_2_32;
            x = -Math.log(u1) / ZIG_R;
            y = -Math.log(u2);
          } while (y + y < x * x);
          x = hz > 0 ? ZIG_R + x : -ZIG_R - x;
          break;
        }
        b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
        b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
        const u = ((a >>> 0) + 0.5) * INV_2_32;
        if (FN[iz]! + u * (FN[iz - 1]! - FN[iz]!) < Math.exp(-0.5 * x * x)) break;
        b = (b << 25) ^ (b >>> 7) ^ c; c = (c - d) | 0; d = (d << 24) ^ (d >>> 8) ^ a; a = (a - b) | 0;
        b = (b << 20) ^ (b >>> 12) ^ c; c = (c - d) | 0; d = (d << 16) ^ (c >>> 16) ^ a; a = (a - b) | 0;
        hz = a;
        iz = hz & 127;
        if ((hz < 0 ? -hz : hz) < KN[iz]!) {
          x = hz * WN[iz]!;
          break;
        }
      }
      arr[k] = x;
    }
    s[0] = a; s[1] = b; s[2] = c; s[3] = d;
    return arr;
  }
}

/** Stream for a path built from parts, e.g. streamFor(seed, `trial-${i}`, site, 'program'). */
export function streamFor(...parts: (string | number)[]): RandomStream {
  return new RandomStream(parts.join('/'));
}
