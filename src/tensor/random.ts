/**
 * Seeded, named random streams.
 *
 * A stream is identified by a path such as `42/trial-3/encoder.0.attn.q/program`; the same
 * path always yields the same draws, and any two paths are independent for all practical
 * purposes. The generator is seedrandom's Tyche-i (`seedrandom.tychei`): we let seedrandom
 * derive the 128-bit state from the path (so a stream is exactly `seedrandom.tychei(path)`,
 * which a test checks), then draw through the sampling kernels (kernels/sampling.ts), which
 * run the same recurrence inlined in tight loops.
 */
import seedrandom from 'seedrandom';
import { fillNormal, fillUniform } from './kernels/sampling.js';

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
    return this.fill(out, fillUniform);
  }

  /** Fill `out` (or a new Float32Array of that length) with N(0,1) draws; returns it. */
  normal<T extends Float32Array | Float64Array>(out: T): T;
  normal(n: number): Float32Array;
  normal(out: Float32Array | Float64Array | number): Float32Array | Float64Array {
    return this.fill(out, fillNormal);
  }

  private fill(out: Float32Array | Float64Array | number, kernel: typeof fillNormal): Float32Array | Float64Array {
    const arr = typeof out === 'number' ? new Float32Array(out) : out;
    kernel(this.s, arr);
    return arr;
  }
}

/** Stream for a path built from parts, e.g. streamFor(seed, `trial-${i}`, site, 'program'). */
export function streamFor(...parts: (string | number)[]): RandomStream {
  return new RandomStream(parts.join('/'));
}
