/**
 * Every kernel's engine implementation against its reference, on random inputs — the only
 * place engine equality is tested. When the install step could not build the addon (no
 * compiler) or AIMC_NATIVE=0, the engine checks are replaced by checks that the references
 * are in place — never silently skipped: a built addon that fails to load fails.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { initBackend } from '../../src/tensor/backend.js';
import {
  adamwUpdate,
  analogTile,
  evalElementwise,
  fillNormal,
  fillUniform,
  gelu,
  im2col,
  installNativeMatMul,
  irDropConductances,
  kernelDefs,
  layerNorm,
  nativeAddon,
  nativeBuildStatus,
  nativeMatMulInstalled,
  nativeUnavailableReason,
  softmaxCrossEntropy,
  uninstallNativeMatMul,
  withReferences,
} from '../../src/tensor/kernels/index.js';
import { nativeEngine, type NativeEngine } from '../../src/tensor/kernels/engine.js';
import { reductionPlan } from '../../src/tensor/kernels/aimc-ops.js';
import { RandomStream } from '../../src/tensor/random.js';
import { compileExpr, type CompiledExpr } from '../../src/device/expr.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile } from '../../src/device/profile.js';
import type { DeviceProfile } from '../../src/device/types.js';
import { TiledMatrix } from '../../src/crossbar/analog-matrix.js';
import { randomExpr } from '../helpers/random-expr.js';

const disabled = process.env.AIMC_NATIVE === '0';
const status = nativeBuildStatus();
const expectNative = !disabled && status?.built !== false;

beforeAll(async () => {
  await initBackend('wasm');
});

/** Naive float64 reference of op(a)·op(b). */
function reference(M: number, N: number, K: number, a: Float32Array, b: Float32Array, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? a[k * M + i]! : a[i * K + k]!) * (tB ? b[j * K + k]! : b[k * N + j]!);
      c[i * N + j] = s;
    }
  }
  return c;
}

describe('native kernel availability', () => {
  it(expectNative ? 'the addon loads and is registered for wasm' : 'falls back cleanly when the addon is unavailable', () => {
    if (expectNative) {
      expect(nativeAddon(), `addon not loaded: ${nativeUnavailableReason()}`).not.toBeNull();
      expect(nativeMatMulInstalled()).toBe(true);
      expect(['avx2', 'scalar']).toContain(nativeAddon()!.info().isa);
    } else {
      expect(nativeAddon()).toBeNull();
      expect(nativeMatMulInstalled()).toBe(false);
      expect(nativeUnavailableReason()).toMatch(disabled ? /AIMC_NATIVE=0/ : /not built/);
    }
  });
});

describe.runIf(expectNative)('native SGEMM', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [513, 1025, 3],
    [3, 1025, 513],
    [64, 1024, 512],
    [127, 129, 131],
    [6, 16, 0],
  ];
  for (const [M, N, K] of shapes) {
    for (const [tA, tB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      it(`${M}x${N}x${K} transA=${tA} transB=${tB}`, () => {
        const rng = new RandomStream(`sgemm/${M}/${N}/${K}`);
        const a = rng.normal(M * K);
        const b = rng.normal(K * N);
        const want = reference(M, N, K, a, b, tA, tB);
        for (const beta of [false, true]) {
          const c = rng.normal(M * N);
          const c0 = c.slice();
          nativeAddon()!.sgemm(M, N, K, a, b, c, tA, tB, beta);
          // Float32 accumulation of K products of N(0,1) entries: error ~ K·eps·sqrt(K).
          const tol = 4 * Math.max(K, 1) * 1.2e-7 * Math.sqrt(Math.max(K, 1)) + 1e-6;
          let worst = 0;
          for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(c[i]! - (want[i]! + (beta ? c0[i]! : 0))));
          expect(worst).toBeLessThan(tol);
        }
      });
    }
  }

  it('rejects arrays too short for the shape', () => {
    expect(() =>
      nativeAddon()!.sgemm(4, 4, 4, new Float32Array(15), new Float32Array(16), new Float32Array(16), false, false, false),
    ).toThrow(/too short/);
    expect(() =>
      nativeAddon()!.sgemm(
        4,
        4,
        4,
        new Float64Array(16) as unknown as Float32Array,
        new Float32Array(16),
        new Float32Array(16),
        false,
        false,
        false,
      ),
    ).toThrow(/Float32Array/);
  });
});

describe.runIf(expectNative)('native kernels inside tfjs (wasm) agree with the original kernels', () => {
  const compare = (f: () => tf.Tensor) => {
    const withNative = f();
    uninstallNativeMatMul();
    const original = f();
    installNativeMatMul();
    const scale = tf.max(tf.abs(original)).dataSync()[0]! + 1e-6;
    const err = tf.max(tf.abs(tf.sub(withNative, original))).dataSync()[0]!;
    expect(withNative.shape).toEqual(original.shape);
    expect(err / scale).toBeLessThan(1e-5);
  };
  const t = (shape: number[], seed: string) => tf.tensor(new RandomStream(seed).normal(shape.reduce((a, b) => a * b, 1)), shape);

  it('rank 2 with every transpose combination', () => {
    for (const [tA, tB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const a = t(tA ? [37, 21] : [21, 37], 'a');
      const b = t(tB ? [19, 37] : [37, 19], 'b');
      compare(() => tf.matMul(a, b, tA, tB));
    }
  });

  it('rank 3, equal and broadcast batches', () => {
    compare(() => tf.matMul(t([4, 9, 33], 'x'), t([4, 33, 17], 'y')));
    compare(() => tf.matMul(t([4, 9, 33], 'x'), t([33, 17], 'w')));
    compare(() => tf.matMul(t([1, 9, 33], 'x'), t([3, 33, 17], 'y'), false, false));
  });

  it('fused matMul with bias and activations', () => {
    const a = t([24, 40], 'fa');
    const b = t([40, 30], 'fb');
    const bias = t([30], 'fbias');
    for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'] as const) {
      compare(() => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }));
    }
    compare(() => tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: t([30], 'alpha') }));
  });

  it('gradients through matMul stay correct', () => {
    const a = t([8, 12], 'ga');
    const b = t([12, 5], 'gb');
    const dy = t([8, 5], 'gdy');
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), dy)))([a, b]);
    const wantA = tf.matMul(dy, tf.transpose(b));
    const wantB = tf.matMul(tf.transpose(a), dy);
    expect(tf.max(tf.abs(tf.sub(ga!, wantA))).dataSync()[0]!).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(gb!, wantB))).dataSync()[0]!).toBeLessThan(1e-4);
  });

  it('uninstall restores the original kernel configs', () => {
    const mine = tf.getKernel(tf.BatchMatMul, 'wasm');
    uninstallNativeMatMul();
    const orig = tf.getKernel(tf.BatchMatMul, 'wasm');
    expect(orig).not.toBe(mine);
    expect(nativeMatMulInstalled()).toBe(false);
    installNativeMatMul();
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(orig);
  });
});

/** The native engine, or a test failure when it was expected (never a silent skip). */
function engine(): NativeEngine {
  const e = nativeEngine();
  if (!e) throw new Error(`native engine unavailable: ${nativeUnavailableReason()}`);
  return e;
}
const stateOf = (st: { a: number; b: number; c: number; d: number }) => Int32Array.of(st.a, st.b, st.c, st.d);
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe.runIf(expectNative)('fillNormal / fillUniform: native vs the JS loops', () => {
  it('normal: identical bits over 4M draws, and the states advance identically', () => {
    const s1 = stateOf(new RandomStream('same/normal').state());
    const s2 = s1.slice();
    const viaNative = new Float32Array(4_000_000);
    const viaJs = new Float32Array(4_000_000);
    fillNormal.def.native(engine(), s1, viaNative);
    fillNormal.def.reference(s2, viaJs);
    expect(Buffer.from(viaNative.buffer).equals(Buffer.from(viaJs.buffer))).toBe(true);
    expect(Array.from(s1)).toEqual(Array.from(s2));
  });

  it('uniform: identical bits, also when the reference runs in small pieces', () => {
    const viaNative = new Float32Array(100_000);
    fillUniform.def.native(engine(), stateOf(new RandomStream('same/u').state()), viaNative);
    const s = stateOf(new RandomStream('same/u').state());
    const viaJs = new Float32Array(100_000);
    for (let i = 0; i < viaJs.length; i += 100) fillUniform.def.reference(s, viaJs.subarray(i, i + 100));
    expect(Buffer.from(viaNative.buffer).equals(Buffer.from(viaJs.buffer))).toBe(true);
  });

  it('the streams draw through the kernels', () => {
    const viaStream = new RandomStream('same/stream').normal(new Float32Array(5000));
    const viaRef = new Float32Array(5000);
    fillNormal.def.reference(stateOf(new RandomStream('same/stream').state()), viaRef);
    expect(Buffer.from(viaStream.buffer).equals(Buffer.from(viaRef.buffer))).toBe(true);
  });
});

describe.runIf(expectNative)('evalElementwise: native program vs float64 evaluator and tfjs ops', () => {
  it('agrees with the float64 scalar evaluator on 300 random expressions', () => {
    const rng = seedrandom('expr-native');
    const n = 2000; // > one chunk, so chunking and the thread split are exercised
    for (let e = 0; e < 300; e++) {
      const gen = randomExpr(rng, 4);
      const c: CompiledExpr = compileExpr(gen.src, ['g', 'r', 'gMax', 'gMin'], { constants: { gMax: 3, gMin: 0 } });
      const gs = Float32Array.from({ length: n }, () => rng() * 3);
      const rs = Float32Array.from(gs, (g) => Math.fround(g / 3));
      const out = new Float32Array(n);
      const vars = c.variables.map((v) => (v === 'g' ? gs : rs));
      nativeAddon()!.evalExpr(c.program, c.stackDepth, vars, out);
      for (let i = 0; i < n; i += 97) {
        const want = Math.fround(c.scalar({ g: gs[i]!, r: rs[i]!, gMax: 3, gMin: 0 }));
        expect(Math.abs(out[i]! - want), `${gen.src} at g=${gs[i]}`).toBeLessThanOrEqual(Math.abs(want) * 1e-6 + 1e-30);
      }
    }
  });

  it('refuses malformed programs instead of reading out of bounds', () => {
    const out = new Float32Array(4);
    expect(() => nativeAddon()!.evalExpr(Float64Array.of(0, 3), 1, [new Float32Array(4)], out)).toThrow(/malformed program/);
    expect(() => nativeAddon()!.evalExpr(Float64Array.of(1, 2, 2, 0), 2, [], out)).toThrow(/malformed program/);
    expect(() => nativeAddon()!.evalExpr(Float64Array.of(1, 2, 1, 3), 2, [], out)).toThrow(/one value/);
  });

  it('device physics stages give the same conductances (same streams) up to float32 rounding', () => {
    // Every stage of three profiles goes through evalElementwise: the whole read with the
    // engine, then with every kernel on its reference.
    for (const name of ['pcm-nandakumar-2019', 'pcm-hermes-2023', 'rram-wan-2022']) {
      const dev = new DeviceModel(loadProfile(name));
      const target = tf.tensor1d(new RandomStream('targets').uniform(20_000)).mul(dev.gMax);
      const run = () => {
        const rng = new RandomStream(`stages/${name}`);
        const p = dev.program(target, rng.child('p'));
        const g = dev.conductanceAt(p, 86400, rng.child('r')).dataSync();
        p.dispose();
        return g;
      };
      const a = run();
      const b = withReferences(run);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + 1e-3));
      expect(worst, name).toBeLessThan(1e-4);
      expect(worst, `${name}: the two runs must differ somewhere (else the swap did nothing)`).toBeGreaterThan(0);
      target.dispose();
    }
  });
});

describe.runIf(expectNative)('analogTile: native periphery vs tfjs ops', () => {
  for (const [label, patch, t] of [
    ['PCM at 1 day, saturating rows (bound management), 3×3 tiles', (p: DeviceProfile) => (p.tile = { rows: 128, cols: 96 }), 86400],
    ['HERMES at 1 h, one tile', (p: DeviceProfile) => (p.tile = { rows: 512, cols: 512 }), 3600],
    [
      'PCM with input noise, a varying output non-linearity and per-column GDC, 2×2 tiles',
      (p: DeviceProfile) => {
        p.tile = { rows: 160, cols: 128 };
        p.periphery.inputNoise = 0.02;
        p.periphery.outputNonlinearity = { strength: 0.5, std: 0.3 };
        p.driftCompensation.granularity = 'column';
      },
      86400,
    ],
    [
      'PCM with a ramp ADC (per-column gain and offset), 2×2 tiles',
      (p: DeviceProfile) => {
        p.tile = { rows: 160, cols: 128 };
        p.periphery.adc = { ...p.periphery.adc, model: 'ramp', gainStd: 0.02, offsetStd: 0.5 };
      },
      3600,
    ],
    [
      'PCM with input bit slicing (2 bits per pass), input noise, bound management, 3×3 tiles',
      (p: DeviceProfile) => {
        p.tile = { rows: 128, cols: 96 };
        p.periphery.inputBitsPerPass = 2;
        p.periphery.inputNoise = 0.01;
      },
      86400,
    ],
    [
      'PCM with a SAR ADC (mismatched capacitors, comparator offset), 2×2 tiles',
      (p: DeviceProfile) => {
        p.tile = { rows: 160, cols: 128 };
        p.periphery.adc = { ...p.periphery.adc, model: 'sar', capacitorMismatch: 0.05, offsetStd: 0.3 };
      },
      3600,
    ],
    [
      'PCM with calibrated ADC ranges per column (quantile 0.8: bound management on the clipped ones), 2×2 tiles',
      (p: DeviceProfile) => {
        p.tile = { rows: 160, cols: 128 };
        p.periphery.adc = { ...p.periphery.adc, calibration: { quantile: 0.8, granularity: 'column' } };
      },
      86400,
    ],
    [
      'PCM with calibrated ADC ranges per array (quantile 0.9) and a ramp ADC, 2×2 tiles',
      (p: DeviceProfile) => {
        p.tile = { rows: 160, cols: 128 };
        p.periphery.adc = { ...p.periphery.adc, model: 'ramp', gainStd: 0.02, offsetStd: 0.5, calibration: { quantile: 0.9 } };
      },
      3600,
    ],
  ] as const) {
    it(label, () => {
      const base = label.startsWith('HERMES') ? 'pcm-hermes-2023' : 'pcm-nandakumar-2019';
      const prof = structuredClone(loadProfile(base));
      patch(prof);
      const dev = new DeviceModel(prof);
      const W = tf.abs(tf.randomNormal([300, 200], 0, 0.1, 'float32', 11)) as tf.Tensor2D;
      // Row 0 is near-constant and positive: with positive weights its outputs saturate every
      // column tile. (Exactly constant inputs would all sit on the same DAC level after halving,
      // e.g. 0.25 = 31.5 steps of 1/126, where float64 and float32 rounding disagree on the tie.)
      const x = tf.concat([
        tf.add(0.9, tf.randomUniform([1, 300], 0, 0.1, 'float32', 13)),
        tf.randomNormal([15, 300], 0, 1, 'float32', 12),
      ]) as tf.Tensor2D;
      const tiled = TiledMatrix.map(W, dev);
      const prog = tiled.program(new RandomStream('fused'));
      if (prog.calibratesAdc) {
        prog.observeForAdc(x, new RandomStream('fused-calibration'));
        prog.finishAdcCalibration();
      }
      const at = prog.at(t, new RandomStream('fused-read'));
      const read = at.tileRead(x);
      if (prog.calibratesAdc) expect(read.adcRangeGain!.some((g) => g.some((v) => v > 1))).toBe(true);
      const nat = analogTile.def.native(engine(), read, new RandomStream('fused-mvm'));
      const ops = analogTile.def.reference(read, new RandomStream('fused-mvm'));
      // forward() is the dispatching kernel, i.e. the native side here.
      const viaForward = at.forward(x, new RandomStream('fused-mvm'));
      expect(maxDiff(viaForward, nat)).toBe(0);
      const diff = tf.abs(tf.sub(nat, ops));
      const scale = tf.max(tf.abs(ops)).dataSync()[0]!;
      const d = diff.arraySync() as number[][];
      // Beyond float32 agreement only where float64 (native) and float32 (ops) straddle a
      // converter level: one input straddling a DAC level shifts its whole row, one output an
      // ADC step. At ~1e-5 straddles per conversion (300 inputs a row) a few rows in 16 at most.
      const farRows = d.filter((row) => row.some((v) => v > 1e-5 * scale)).length;
      expect(farRows / d.length).toBeLessThanOrEqual(0.25);
      expect(tf.max(diff).dataSync()[0]!).toBeLessThan(0.05 * scale);
      [W, x, nat, ops, viaForward, diff].forEach((q) => q.dispose());
      at.dispose();
      prog.dispose();
      tiled.dispose();
    });
  }
});

describe.runIf(expectNative)('irDropConductances: native vs the JS reference', () => {
  for (const [R, N, rRow, rCol] of [
    [256, 512, 0.35, 0.35],
    [1, 40, 3, 3],
    [33, 1, 3, 3],
    [17, 29, 0, 2],
    [17, 29, 2, 0],
    [4, 4, 0, 0],
  ] as const) {
    it(`${R} × ${N}, segments ${rRow} / ${rCol} Ω`, () => {
      const rng = new RandomStream(`irdrop/${R}/${N}`);
      const g = rng.uniform(new Float32Array(R * N)).map((u) => 0.1 + 25 * u * u);
      const ref = irDropConductances.def.reference(g, R, N, rRow, rCol);
      const nat = irDropConductances.def.native(engine(), g, R, N, rRow, rCol);
      let worst = 0;
      for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(nat[k]! - ref[k]!) / Math.abs(ref[k]!));
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it('rejects a negative segment and a short array', () => {
    expect(() => engine().lib.irDrop(new Float32Array(4), 2, 2, -1, 0, new Float32Array(4))).toThrow(/segment/);
    expect(() => engine().lib.irDrop(new Float32Array(3), 2, 2, 1, 1, new Float32Array(4))).toThrow(/shorter/);
  });
});

describe.runIf(expectNative)('im2col: typed-array unrolling vs tfjs slices, value and gradient', () => {
  for (const [kh, kw, sh, sw, padding] of [
    [3, 3, 1, 1, 'valid'],
    [3, 2, 2, 3, 'same'],
    [1, 4, 1, 2, 'same'],
    [5, 5, 2, 2, 'valid'],
  ] as const) {
    it(`${kh}×${kw} kernel, strides ${sh},${sw}, ${padding}`, () => {
      const x = tf.randomNormal([2, 9, 11, 3], 0, 1, 'float32', 41) as tf.Tensor4D;
      const nat = (xi: tf.Tensor) => im2col.def.native(engine(), xi as tf.Tensor4D, kh, kw, sh, sw, padding);
      const ref = (xi: tf.Tensor) => im2col.def.reference(xi as tf.Tensor4D, kh, kw, sh, sw, padding);
      const a = nat(x);
      const b = ref(x);
      expect(a.shape).toEqual(b.shape);
      // A pure copy: exactly equal.
      expect(maxDiff(a, b)).toBe(0);
      const dy = tf.randomNormal(b.shape, 0, 1, 'float32', 42);
      const loss = (f: typeof nat) => (xi: tf.Tensor) => tf.sum(tf.mul(f(xi), dy));
      expect(maxDiff(tf.grad(loss(nat))(x), tf.grad(loss(ref))(x))).toBeLessThan(1e-5);
    });
  }
});

describe.runIf(expectNative)('layerNorm, gelu, softmaxCrossEntropy: native vs tfjs ops, value and gradients', () => {
  it('layerNorm forward and all three gradients', () => {
    const x = tf.randomNormal([9, 16], 1, 2, 'float32', 4) as tf.Tensor2D;
    const g = tf.randomNormal([16], 1, 0.3, 'float32', 5) as tf.Tensor1D;
    const b = tf.randomNormal([16], 0, 0.3, 'float32', 6) as tf.Tensor1D;
    const dy = tf.randomNormal([9, 16], 0, 1, 'float32', 7);
    const nat = (xi: tf.Tensor2D, gi: tf.Tensor1D, bi: tf.Tensor1D) => layerNorm.def.native(engine(), xi, gi, bi, 1e-5);
    const ref = (xi: tf.Tensor2D, gi: tf.Tensor1D, bi: tf.Tensor1D) => layerNorm.def.reference(xi, gi, bi, 1e-5);
    const loss = (ln: typeof nat) => (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(ln(xi as tf.Tensor2D, gi as tf.Tensor1D, bi as tf.Tensor1D), dy));
    const fast = tf.grads(loss(nat))([x, g, b]);
    const slow = tf.grads(loss(ref))([x, g, b]);
    expect(maxDiff(nat(x, g, b), ref(x, g, b))).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(maxDiff(fast[i]!, slow[i]!)).toBeLessThan(1e-4);
  });

  for (const approx of ['erf', 'tanh'] as const) {
    it(`gelu (${approx}) value and gradient`, () => {
      const x = tf.mul(tf.randomNormal([513, 7], 0, 1, 'float32', 12), 3);
      const dy = tf.randomNormal([513, 7], 0, 1, 'float32', 13);
      const nat = (xi: tf.Tensor) => gelu.def.native(engine(), xi, approx);
      const ref = (xi: tf.Tensor) => gelu.def.reference(xi, approx);
      const loss = (f: typeof nat) => (xi: tf.Tensor) => tf.sum(tf.mul(f(xi), dy));
      expect(maxDiff(nat(x), ref(x))).toBeLessThan(1e-5);
      expect(maxDiff(tf.grad(loss(nat))(x), tf.grad(loss(ref))(x))).toBeLessThan(1e-4);
    });
  }

  it('softmaxCrossEntropy loss and gradient, ignored rows included', () => {
    const N = 37;
    const V = 301;
    const z = tf.mul(tf.randomNormal([N, V], 0, 1, 'float32', 11), 4) as tf.Tensor2D;
    const targets = Int32Array.from({ length: N }, (_, i) => (i % 7 === 3 ? -1 : (i * 53) % V));
    const fast = tf.valueAndGrad((x: tf.Tensor) => softmaxCrossEntropy.def.native(engine(), x as tf.Tensor2D, targets))(z);
    const ref = tf.valueAndGrad((x: tf.Tensor) => softmaxCrossEntropy.def.reference(x as tf.Tensor2D, targets))(z);
    expect(Math.abs(fast.value.dataSync()[0]! - ref.value.dataSync()[0]!)).toBeLessThan(1e-5 * ref.value.dataSync()[0]!);
    expect(maxDiff(fast.grad, ref.grad)).toBeLessThan(1e-6);
  });
});

describe.runIf(expectNative)('adamwUpdate: native in place vs tfjs ops', () => {
  it('three steps agree on weights and both moments; shared buffers fall back to the ops', () => {
    const k = { beta1: 0.9, beta2: 0.999, c1: 0.01 / (1 - 0.9), c2: 1 / Math.sqrt(1 - 0.999), eps: 1e-8, decay: 1 - 0.01 * 0.01 };
    const make = (tag: string) => ({
      w: tf.variable(tf.randomNormal([33, 17], 0, 1, 'float32', 31), true, `aw-${tag}`),
      m: tf.variable(tf.zeros([33, 17]), false),
      v: tf.variable(tf.zeros([33, 17]), false),
    });
    const a = make('native');
    const b = make('ref');
    for (let step = 0; step < 3; step++) {
      const g = tf.randomNormal([33, 17], 0, 1, 'float32', 40 + step);
      adamwUpdate.def.native(engine(), a.w, g, a.m, a.v, k);
      adamwUpdate.def.reference(b.w, g, b.m, b.v, k);
      g.dispose();
    }
    for (const key of ['w', 'm', 'v'] as const) expect(maxDiff(a[key], b[key]), key).toBeLessThan(1e-5);
    // A clone shares the buffer (wasm Identity): the in-place update must not write through it.
    const snapshot = a.w.clone();
    const before = snapshot.dataSync().slice();
    const g = tf.ones([33, 17]);
    adamwUpdate.def.native(engine(), a.w, g, a.m, a.v, k);
    expect(Array.from(snapshot.dataSync())).toEqual(Array.from(before));
    expect(maxDiff(a.w, snapshot)).toBeGreaterThan(0);
  });
});

describe('the kernel list', () => {
  it('every declared kernel has an engine-vs-reference test in this file', () => {
    const tested = [
      'fillNormal',
      'fillUniform',
      'evalElementwise',
      'analogTile',
      'layerNorm',
      'gelu',
      'softmaxCrossEntropy',
      'adamwUpdate',
      'irDropConductances',
      'im2col',
    ];
    expect(
      kernelDefs()
        .map((k) => k.name)
        .sort(),
    ).toEqual([...tested].sort());
  });
});

describe.runIf(expectNative)('aimc backend: native transpose, broadcasting arithmetic, softmax vs the cpu kernels', () => {
  /** Run f on the cpu backend (the reference kernels) and on aimc (the native ones). */
  const both = async (f: () => tf.Tensor): Promise<[Float32Array, Float32Array, number[]]> => {
    await initBackend('cpu');
    const ref = f();
    const r = ref.dataSync() as Float32Array;
    const shape = ref.shape;
    await initBackend('aimc');
    const got = f();
    expect(got.shape).toEqual(shape);
    const g = got.dataSync() as Float32Array;
    await initBackend('wasm');
    return [g, r, shape];
  };
  const t = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

  it('transpose: every permutation of rank 2–4 shapes, odd sizes', async () => {
    const cases: [number[], number[]][] = [
      [
        [7, 13],
        [1, 0],
      ],
      [
        [3, 5, 7],
        [0, 2, 1],
      ],
      [
        [3, 5, 7],
        [2, 0, 1],
      ],
      [
        [2, 3, 4, 5],
        [0, 2, 1, 3],
      ],
      [
        [2, 3, 4, 5],
        [3, 1, 0, 2],
      ],
      [
        [1, 9, 1, 4],
        [2, 3, 0, 1],
      ],
      [
        [130, 70],
        [1, 0],
      ],
    ];
    for (const [shape, perm] of cases) {
      const [g, r] = await both(() => tf.transpose(t(shape, 1), perm));
      expect(Array.from(g), `${shape} ${perm}`).toEqual(Array.from(r));
    }
  });

  it('add, sub, mul, div with same shapes, scalars, rows, columns and two-sided broadcasting', async () => {
    const pairs: [number[], number[]][] = [
      [
        [40, 33],
        [40, 33],
      ],
      [[40, 33], [33]],
      [
        [40, 33],
        [40, 1],
      ],
      [[40, 33], []],
      [[], [6, 5]],
      [
        [4, 1, 5],
        [1, 3, 1],
      ],
      [
        [2, 3, 4, 5],
        [3, 1, 5],
      ],
      [
        [300, 200],
        [300, 200],
      ],
    ];
    for (const [sa, sb] of pairs) {
      for (const op of [tf.add, tf.sub, tf.mul, tf.div] as const) {
        // Divisors kept away from 0 so the comparison is of arithmetic, not of infinities.
        const [g, r] = await both(() => op(t(sa, 2), op === tf.div ? tf.add(tf.abs(t(sb, 3)), 0.5) : t(sb, 3)));
        g.forEach((v, i) => expect(Math.abs(v - r[i]!), `${sa} ${sb} ${op.name}`).toBeLessThanOrEqual(1e-6 * Math.abs(r[i]!)));
      }
    }
  });

  it('relu and step (its gradient), NaN passed through', async () => {
    const x = () => tf.concat([t([500], 5), tf.tensor1d([0, -0, NaN, -1e-30, 1e-30])]);
    for (const f of [(v: tf.Tensor) => tf.relu(v), (v: tf.Tensor) => tf.step(v), (v: tf.Tensor) => tf.step(v, 0.25)]) {
      const [g, r] = await both(() => f(x()));
      expect(Array.from(g)).toEqual(Array.from(r));
    }
  });

  it('softmax over the last axis (other axes and dtypes take the cpu kernel)', async () => {
    for (const shape of [
      [7, 13],
      [3, 4, 50],
      [1, 1],
    ]) {
      const [g, r] = await both(() => tf.softmax(tf.mul(t(shape, 4), 5)));
      g.forEach((v, i) => expect(Math.abs(v - r[i]!)).toBeLessThan(1e-6));
    }
  });

  it('sum and mean over leading, trailing, middle, all and size-1-separated axes, keepDims; non-contiguous axes take the cpu kernel', async () => {
    const cases: [number[], number | number[] | undefined, boolean][] = [
      [[300, 70], 0, false],
      [[300, 70], 1, false],
      [[300, 70], -1, true],
      [[8, 50, 30], 1, false],
      [[8, 50, 30], [1, 2], true],
      [[8, 50, 30], [0, 1], false],
      [[8, 50, 30], undefined, false],
      [[6, 1, 7, 5], [0, 2], false],
      [[6, 4, 7], [0, 2], false],
      [[1000], 0, false],
    ];
    for (const [shape, axis, keep] of cases) {
      const x = Array.from(t(shape, 6).dataSync());
      // The exact sums, in double, by each element's coordinates (independent of the kernel's plan).
      const rank = shape.length;
      const axes = (axis === undefined ? [...shape.keys()] : [axis].flat()).map((a) => (a + rank) % rank);
      const exact = new Map<string, number>();
      x.forEach((v, flat) => {
        const key: number[] = [];
        for (let d = rank - 1, rem = flat; d >= 0; d--) {
          if (!axes.includes(d)) key.unshift(rem % shape[d]!);
          rem = Math.floor(rem / shape[d]!);
        }
        exact.set(String(key), (exact.get(String(key)) ?? 0) + v);
      });
      const count = shape.filter((_, d) => axes.includes(d)).reduce((a, b) => a * b, 1);
      for (const op of [tf.sum, tf.mean] as const) {
        const [g, r, outShape] = await both(() => op(t(shape, 6), axis, keep));
        expect(g.length).toBe(r.length);
        const want = [...exact.values()].map((v) => (op === tf.mean ? v / count : v));
        expect(outShape.reduce((a, b) => a * b, 1)).toBe(want.length);
        if (!reductionPlan(shape, axis, keep)) {
          // Not contiguous: the cpu kernel itself ran.
          expect(Array.from(g)).toEqual(Array.from(r));
          continue;
        }
        // Double accumulation, one rounding (two for the mean): within 2 float32 ulps of the exact value.
        g.forEach((v, i) =>
          expect(Math.abs(v - want[i]!), `${shape} ${String(axis)} ${op.name}`).toBeLessThanOrEqual(2 ** -22 * Math.abs(want[i]!) + 1e-12),
        );
      }
    }
  });

  it('comparisons (same shapes, a scalar on either side, NaN) and row gathers; other shapes take the cpu kernel', async () => {
    const withNaN = (shape: number[], seed: number) =>
      tf.where(tf.greater(t(shape, seed + 50), 2), tf.fill(shape, NaN), tf.round(tf.mul(t(shape, seed), 2)));
    for (const op of [tf.greater, tf.greaterEqual, tf.less, tf.lessEqual] as const) {
      for (const [sa, sb] of [
        [
          [300, 7],
          [300, 7],
        ],
        [[300, 7], []],
        [[], [5, 4]],
        [
          [2, 3],
          [1, 1],
        ],
        [[40, 3], [3]],
      ] as [number[], number[]][]) {
        const [g, r] = await both(() => tf.cast(op(withNaN(sa, 1), withNaN(sb, 2)), 'float32'));
        expect(Array.from(g), `${op.name} ${sa} ${sb}`).toEqual(Array.from(r));
      }
    }
    const table = () => t([50, 3, 4], 7);
    for (const ids of [
      [0, 49, 7, 7, 3],
      [
        [1, 2],
        [3, 4],
      ],
    ]) {
      const [g, r] = await both(() => tf.gather(table(), tf.tensor(ids, undefined, 'int32')));
      expect(Array.from(g)).toEqual(Array.from(r));
    }
    const [g, r] = await both(() => tf.gather(table(), tf.tensor1d([2, 0], 'int32'), 1));
    expect(Array.from(g)).toEqual(Array.from(r));
  });

  it('reduction plans: contiguous reduced axes as [k1, r, k2], others refused', () => {
    expect(reductionPlan([2, 3, 4], 1, false)).toEqual({ k1: 2, r: 3, k2: 4, out: [2, 4] });
    expect(reductionPlan([2, 3, 4], [-1, 1], true)).toEqual({ k1: 2, r: 12, k2: 1, out: [2, 1, 1] });
    expect(reductionPlan([2, 1, 4], [0, 2], false)).toEqual({ k1: 1, r: 8, k2: 1, out: [1] });
    expect(reductionPlan([2, 3, 4], [0, 2], false)).toBeNull();
    expect(reductionPlan([2, 3], 5, false)).toBeNull();
    expect(reductionPlan([2, 3], null, false)).toEqual({ k1: 1, r: 6, k2: 1, out: [] });
  });

  it('refuses malformed calls instead of reading out of bounds', () => {
    const lib = nativeAddon()!;
    expect(() => lib.reduceSum(new Float32Array(11), 3, 2, 2, new Float32Array(6))).toThrow(/too short/);
    const f = (n: number) => new Float32Array(n);
    expect(() => lib.transpose(f(6), Int32Array.of(2, 3), Int32Array.of(0, 0), f(6))).toThrow(/not a permutation/);
    expect(() => lib.transpose(f(5), Int32Array.of(2, 3), Int32Array.of(1, 0), f(6))).toThrow(/too short/);
    expect(() => lib.binary(0, f(6), Int32Array.of(2, 3), f(2), Int32Array.of(1, 2), Int32Array.of(2, 3), f(6))).toThrow(
      /do not broadcast/,
    );
    expect(() => lib.softmax(3, 4, f(11), f(12))).toThrow(/too short/);
  });
});
