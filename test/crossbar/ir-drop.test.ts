/** IR drop: the line-relaxation solver against a direct solve and hand-derived circuits; the first-order model against it. */
import { describe, it, expect } from 'vitest';
import { lusolve } from 'mathjs';
import * as tf from '@tensorflow/tfjs';
import { firstOrderCurrents, idealCurrents, solveCrossbar } from '../../src/crossbar/ir-drop.js';
import { irDropConductances } from '../../src/tensor/kernels/index.js';
import { TiledMatrix } from '../../src/crossbar/analog-matrix.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile } from '../../src/device/profile.js';
import { idealProfile } from '../../src/crossbar/noise-budget.js';
import { RandomStream } from '../../src/tensor/random.js';

/** The nodal equations of the whole array as one dense system, assembled independently of the solver. */
function directSolve(G: Float64Array, V: Float64Array, R: number, C: number, rRow: number, rCol: number): Float64Array {
  const n = 2 * R * C;
  const A = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const rhs = new Array<number>(n).fill(0);
  const wi = (i: number, j: number) => i * C + j;
  const bi = (i: number, j: number) => R * C + i * C + j;
  const link = (p: number, q: number, g: number) => {
    A[p]![p]! += g;
    A[q]![q]! += g;
    A[p]![q]! -= g;
    A[q]![p]! -= g;
  };
  const gw = 1e6 / rRow;
  const gb = 1e6 / rCol;
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      link(wi(i, j), bi(i, j), G[i * C + j]!);
      if (j > 0) link(wi(i, j - 1), wi(i, j), gw);
      if (i > 0) link(bi(i - 1, j), bi(i, j), gb);
    }
    // Driver: a segment from the source V_i to node (i, 0).
    A[wi(i, 0)]![wi(i, 0)]! += gw;
    rhs[wi(i, 0)]! += gw * V[i]!;
  }
  // Ground below each bit line's last node.
  for (let j = 0; j < C; j++) A[bi(R - 1, j)]![bi(R - 1, j)]! += gb;
  const x = (lusolve(A, rhs) as number[][]).map((r) => r[0]!);
  return Float64Array.from({ length: C }, (_, j) => gb * x[bi(R - 1, j)]!);
}

const draw = (seed: string, R: number, C: number) => {
  const rng = new RandomStream(`ir/${seed}`);
  const G = Float64Array.from(rng.child('g').uniform(R * C), (u) => 0.5 + 24.5 * u); // µS
  const V = Float64Array.from(rng.child('v').uniform(R), (u) => 0.2 * (2 * u - 1)); // V
  return { G, V };
};
const relErr = (a: Float64Array, b: Float64Array) => {
  let num = 0;
  let den = 0;
  for (let k = 0; k < a.length; k++) {
    num += (a[k]! - b[k]!) ** 2;
    den += b[k]! ** 2;
  }
  return Math.sqrt(num / den);
};

describe('IR drop: exact solve', () => {
  for (const [R, C, rRow, rCol] of [
    [5, 6, 2.5, 2.5],
    [7, 3, 1e3, 10],
    [1, 8, 50, 5],
    [6, 1, 5, 50],
  ] as const) {
    it(`${R} × ${C}, rRow ${rRow} Ω, rCol ${rCol} Ω: equals a direct solve of the same network`, () => {
      const { G, V } = draw(`${R}x${C}`, R, C);
      const exact = solveCrossbar(G, V, R, C, { rRow, rCol });
      expect(relErr(exact, directSolve(G, V, R, C, rRow, rCol))).toBeLessThan(1e-9);
      // The drop is real at these resistances (not a vacuous comparison with the ideal).
      expect(relErr(exact, idealCurrents(G, V, R, C))).toBeGreaterThan(rRow >= 50 || rCol >= 50 ? 1e-4 : 1e-7);
    });
  }

  it('one cell is a series circuit: I = V / (rRow + 1/G + rCol)', () => {
    const G = Float64Array.of(20); // µS → 50 kΩ
    const out = solveCrossbar(G, Float64Array.of(0.2), 1, 1, { rRow: 1000, rCol: 3000 });
    expect(out[0]! / (0.2 / (1000 + 50_000 + 3000)) / 1e6 - 1).toBeCloseTo(0, 10);
  });

  it('one row of two cells, ideal bit lines: the second cell sees the divided voltage', () => {
    // V → r → node1 (G1 to ground) → r → node2 (G2 to ground).
    const [g1, g2, r, v] = [20e-6, 10e-6, 2000, 0.3];
    const w2 = (w1: number) => w1 / (1 + r * g2);
    // Node 1: (v − w1)/r = g1·w1 + (w1 − w2)/r, with w2 = w1/(1 + r·g2).
    const w1 = v / r / (1 / r + g1 + (1 - 1 / (1 + r * g2)) / r);
    const out = solveCrossbar(Float64Array.of(20, 10), Float64Array.of(v), 1, 2, { rRow: r, rCol: 0 });
    expect(out[0]! / (g1 * w1 * 1e6) - 1).toBeCloseTo(0, 8);
    expect(out[1]! / (g2 * w2(w1) * 1e6) - 1).toBeCloseTo(0, 8);
  });

  it('zero wire resistance is the ideal sum, exactly', () => {
    const { G, V } = draw('zero', 4, 5);
    expect(Array.from(solveCrossbar(G, V, 4, 5, { rRow: 0, rCol: 0 }))).toEqual(Array.from(idealCurrents(G, V, 4, 5)));
  });
});

describe('IR drop: first-order model', () => {
  it('its error against the exact solve is second order: 10× smaller wires, ~100× smaller error', () => {
    const { G, V } = draw('order', 32, 32);
    const err = (r: number) =>
      relErr(firstOrderCurrents(G, V, 32, 32, { rRow: r, rCol: r }), solveCrossbar(G, V, 32, 32, { rRow: r, rCol: r }));
    const [a, b] = [err(10), err(1)];
    expect(a).toBeGreaterThan(50 * b);
    expect(a).toBeLessThan(200 * b);
  });

  it('one or two sweeps of the line relaxation are the fast model: 256 × 256 at 1 Ω, within 3 % and 0.1 % of the converged currents', () => {
    const N = 256;
    const rng = new RandomStream('ir/pcm');
    // PCM-like: most conductances low (weights near zero), up to 25 µS; inputs within ±0.2 V.
    const G = Float64Array.from(rng.child('g').uniform(N * N), (u) => 25 * u * u);
    const V = Float64Array.from(rng.child('v').uniform(N), (u) => 0.2 * (2 * u - 1));
    const wires = { rRow: 1, rCol: 1 };
    const exact = solveCrossbar(G, V, N, N, wires);
    expect(relErr(idealCurrents(G, V, N, N), exact)).toBeGreaterThan(0.1); // the drop matters here
    expect(relErr(solveCrossbar(G, V, N, N, wires, { sweeps: 1 }), exact)).toBeLessThan(0.03);
    expect(relErr(solveCrossbar(G, V, N, N, wires, { sweeps: 2 }), exact)).toBeLessThan(0.001);
    // The first-order model is not usable at this size: its error is a sizeable part of the drop.
    expect(relErr(firstOrderCurrents(G, V, N, N, wires), exact)).toBeGreaterThan(0.05);
  });
});

/** I = V·M for M[R, N] row-major (float64 accumulation). */
const viaMatrix = (M: Float32Array, V: Float64Array, R: number, N: number) => {
  const out = new Float64Array(N);
  for (let i = 0; i < R; i++) for (let j = 0; j < N; j++) out[j] = out[j]! + V[i]! * M[i * N + j]!;
  return out;
};

describe('IR drop in the read path: the effective conductance matrix', () => {
  for (const [R, N, rRow, rCol] of [
    [9, 14, 2.5, 1],
    [1, 6, 100, 30],
    [7, 1, 30, 100],
    [12, 8, 0, 40],
    [12, 8, 40, 0],
  ] as const) {
    it(`${R} × ${N}, rRow ${rRow} Ω, rCol ${rCol} Ω: V·M equals one sweep of the line relaxation for any input`, () => {
      const { G } = draw(`m${R}x${N}`, R, N);
      const M = irDropConductances(Float32Array.from(G), R, N, rRow, rCol);
      for (const k of [0, 1, 2]) {
        const V = Float64Array.from(new RandomStream(`ir/v${k}`).uniform(R), (u) => 0.2 * (2 * u - 1));
        const sweep = solveCrossbar(
          Float64Array.from(Float32Array.from(G)),
          V,
          R,
          N,
          { rRow: rRow || 1e-6, rCol: rCol || 1e-6 },
          { sweeps: 1 },
        );
        expect(relErr(viaMatrix(M, V, R, N), sweep)).toBeLessThan(1e-5);
      }
      // Wires only ever take current away from a cell.
      for (let k = 0; k < M.length; k++) expect(M[k]!).toBeLessThanOrEqual(G[k]! * (1 + 1e-6));
    });
  }

  it('ideal wires give M = G', () => {
    const { G } = draw('ideal', 5, 7);
    const g = Float32Array.from(G);
    expect(Array.from(irDropConductances(g, 5, 7, 0, 0))).toEqual(Array.from(g));
  });

  it("a profile's tile.irDrop reaches the MVM: ideal device, the pair on adjacent columns of one word line, within 2 % of the exact solve", () => {
    const base = idealProfile(loadProfile('pcm-nandakumar-2019'));
    const R = 64;
    const C = 32;
    const wires = { rowSegment: 5, colSegment: 5 };
    const profile = { ...base, name: 'ir', tile: { rows: R, cols: C, irDrop: wires } };
    const plain = new DeviceModel({ ...base, tile: { rows: R, cols: C } });
    const device = new DeviceModel(profile);
    const rng = new RandomStream('ir/path');
    const W = tf.tensor2d(rng.child('w').normal(R * C), [R, C]);
    const x = tf.tensor2d(
      rng
        .child('x')
        .uniform(R)
        .map((u) => 2 * u - 1),
      [1, R],
    );
    const read = (d: DeviceModel) => {
      const tiled = TiledMatrix.map(W, d);
      const chip = tiled.program(rng.child('program'));
      const at = chip.at(0, rng.child('read'), { compensate: false });
      const y = at.forward(x, rng.child('mvm')).dataSync() as Float32Array;
      const scale = tiled.hostScales()[0]![0]!;
      [at, chip, tiled].forEach((o) => o.dispose());
      return { y, scale };
    };
    const ideal = read(plain);
    const got = read(device);
    // The exact network: G+ and G− interleaved on one word line, inputs in volts (the network is
    // linear, so the read voltage drops out of the normalized output).
    const span = device.gMax - device.gMin;
    const w = W.dataSync();
    const wmax = Math.max(...Array.from(w, Math.abs));
    const G = new Float64Array(R * 2 * C);
    for (let i = 0; i < R; i++)
      for (let j = 0; j < C; j++) {
        const v = w[i * C + j]! / wmax;
        G[i * 2 * C + 2 * j] = device.gMin + Math.max(v, 0) * span;
        G[i * 2 * C + 2 * j + 1] = device.gMin + Math.max(-v, 0) * span;
      }
    const xs = x.dataSync();
    const xmax = Math.max(...Array.from(xs, Math.abs));
    const V = Float64Array.from(xs, (v) => v / xmax);
    const I = solveCrossbar(G, V, R, 2 * C, { rRow: wires.rowSegment, rCol: wires.colSegment });
    const exact = Float64Array.from({ length: C }, (_, j) => ((I[2 * j]! - I[2 * j + 1]!) / span) * got.scale * xmax);
    const drop = relErr(Float64Array.from(ideal.y), exact);
    expect(drop).toBeGreaterThan(0.03); // the wires matter at this size
    expect(relErr(Float64Array.from(got.y), exact)).toBeLessThan(0.02);
    expect(relErr(Float64Array.from(got.y), exact)).toBeLessThan(drop / 5);
    [W, x].forEach((t) => t.dispose());
  });
});

describe('aimc tile ir-drop', () => {
  it("--json: the drop and each fast model's error against the exact solve", async () => {
    const { cli } = await import('../helpers/cli.js');
    const r = await cli('tile', 'ir-drop', '--rows', '24', '--cols', '16', '--r-row', '20', '--r-col', '5', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { drop: number; sweeps: { sweeps: number; relativeError: number }[]; firstOrder: number };
    expect(j.drop).toBeGreaterThan(0);
    expect(j.sweeps.map((s) => s.sweeps)).toEqual([1, 2, 3]);
    // More sweeps, closer to the exact solve.
    expect(j.sweeps[2]!.relativeError).toBeLessThan(j.sweeps[0]!.relativeError);
    const bad = await cli('tile', 'ir-drop', '--r-row', '-1');
    expect(bad.err).toMatch(/--r-row/);
  });
});
