/**
 * A weight matrix on crossbar tiles: map → program (once per trial) → read at time t → MVM.
 *
 *   TiledMatrix.map(W, device)        W[in,out] split into row tiles, normalized by max|W|
 *                                     per tile (or per tile column) so that max maps to gMax
 *   .program(rng)  → ProgrammedMatrix  devices programmed once; GDC reference read
 *   .at(t, rng)    → AnalogMatrix      conductances at t from the same devices (+ GDC factor)
 *   .forward(x, rng)                   abs-max input scaling, DAC, per-tile rank-2 MVM, output
 *                                      noise, bound + iterative bound management, ADC, digital
 *                                      sum over row tiles, rescaling
 */
import * as tf from '@tensorflow/tfjs';
import { NonFiniteError } from '../input/finite.js';
import { sumAll } from '../tensor/ops.js';
import type { DeviceModel, ProgrammedWeights } from '../device/model.js';
import { normalTensor } from '../tensor/sample.js';
import { RandomStream } from '../tensor/random.js';
import { tileGrid, type TileGrid } from './tiling.js';
import { convert, converterStep } from './periphery.js';
import { fusedForward, fusedPeripheryAvailable } from './fused-periphery.js';

/** Smallest weight scale: an all-zero tile maps to zero conductance instead of dividing by 0. */
const MIN_SCALE = 1e-12;

/** Per-row-tile scale row vector [1, out]: max |W| per tile, or per column within each tile. */
function blockScales(block: tf.Tensor2D, grid: TileGrid, perColumn: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const colMax = tf.max(tf.abs(block), 0, true) as tf.Tensor2D; // [1, out]
    if (perColumn) return tf.maximum(colMax, MIN_SCALE) as tf.Tensor2D;
    const parts = grid.colSpans.map((c) => {
      const m = tf.max(tf.slice(colMax, [0, c.start], [1, c.size]));
      return tf.fill([1, c.size], 1).mul(tf.maximum(m, MIN_SCALE));
    });
    return tf.concat(parts, 1) as tf.Tensor2D;
  });
}

export class TiledMatrix {
  private constructor(
    readonly device: DeviceModel,
    readonly grid: TileGrid,
    /** Normalized weights per row tile, |w| <= 1, [rows_i, out]. */
    readonly blocks: tf.Tensor2D[],
    /** Weight scale per row tile, [1, out]. */
    readonly scales: tf.Tensor2D[],
  ) {}

  /** Map W[in, out] onto the device's tiles (weights are copied; W is not kept). */
  static map(W: tf.Tensor2D, device: DeviceModel): TiledMatrix {
    const [inF, outF] = W.shape;
    const grid = tileGrid(inF, outF, device.tile.rows, device.tile.cols);
    const perColumn = device.profile.mapping.weightScaling === 'column';
    const blocks: tf.Tensor2D[] = [];
    const scales: tf.Tensor2D[] = [];
    for (const r of grid.rowSpans) {
      const [b, s] = tf.tidy(() => {
        const raw = tf.slice(W, [r.start, 0], [r.size, outF]) as tf.Tensor2D;
        const s = blockScales(raw, grid, perColumn);
        return [tf.div(raw, s) as tf.Tensor2D, s];
      });
      blocks.push(b);
      scales.push(s);
    }
    return new TiledMatrix(device, grid, blocks, scales);
  }

  /** Program every tile's devices (draws from `rng`/tile-i/...). */
  program(rng: RandomStream): ProgrammedMatrix {
    const devices = this.blocks.map((b, i) => this.device.programWeights(b, rng.child(`rowtile-${i}`)));
    return new ProgrammedMatrix(this, devices, rng.child('gdc'));
  }

  dispose(): void {
    for (const t of [...this.blocks, ...this.scales]) t.dispose();
  }
}

/** Mean |w| over all row tiles of normalized weights (the GDC readout). */
function meanAbs(ws: tf.Tensor2D[]): number {
  return tf.tidy(() => {
    const sums = ws.map((w) => tf.sum(tf.abs(w)));
    const n = ws.reduce((a, w) => a + w.size, 0);
    return (tf.addN(sums).dataSync()[0] ?? 0) / n;
  });
}

/** Locate the non-finite conductances of a read and throw, naming the device and the time. */
function nonFinite(ws: tf.Tensor2D[], device: string, t: number): never {
  let bad = 0;
  let n = 0;
  for (const w of ws) {
    if (w.isDisposed) continue;
    const v = w.dataSync();
    n += v.length;
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) bad++;
  }
  throw new NonFiniteError([`t = ${t} s`, `device ${device}`], `${bad ? `${bad} of ${n}` : 'some'} programmed conductances are not finite — the profile's physics produces NaN or infinity for conductances this deployment reaches`);
}

export class ProgrammedMatrix {
  /** Drift-compensation reference: mean |W| read right after programming. */
  readonly gdcReference: number;

  constructor(
    readonly tiled: TiledMatrix,
    readonly devices: ProgrammedWeights[],
    gdcRng: RandomStream,
  ) {
    const ref = devices.map((d, i) => this.tiled.device.weightsAt(d, 0, gdcRng.child(`rowtile-${i}`)) as tf.Tensor2D);
    this.gdcReference = meanAbs(ref);
    try {
      if (!Number.isFinite(this.gdcReference)) nonFinite(ref, this.tiled.device.name, 0);
    } finally {
      ref.forEach((t) => t.dispose());
    }
  }

  /**
   * The matrix at t seconds after programming: conductances from the same devices with
   * drift and a fresh read-noise draw, and the GDC factor reference/current when enabled.
   */
  at(t: number, rng: RandomStream, opts: { compensate?: boolean } = {}): AnalogMatrix {
    const dev = this.tiled.device;
    const weights = this.devices.map((d, i) => dev.weightsAt(d, t, rng.child(`rowtile-${i}`)) as tf.Tensor2D);
    const compensate = opts.compensate ?? dev.driftCompensation;
    // A NaN or infinity anywhere makes the reduction non-finite: GDC's mean |W| when it is
    // needed anyway, else one pass over the conductances in place.
    const mean = compensate ? meanAbs(weights) : sumAll(weights);
    if (!Number.isFinite(mean)) {
      try {
        nonFinite(weights, dev.name, t);
      } finally {
        weights.forEach((w) => w.dispose());
      }
    }
    const gdc = compensate ? this.gdcReference / Math.max(mean, 1e-12) : 1;
    return new AnalogMatrix(this.tiled, weights, gdc);
  }

  dispose(): void {
    this.devices.forEach((d) => d.dispose());
  }
}

export class AnalogMatrix {
  constructor(
    readonly tiled: TiledMatrix,
    /** Normalized effective weights per row tile at time t, [rows_i, out]. */
    readonly weights: tf.Tensor2D[],
    /** Global drift-compensation factor applied to outputs (1 when off). */
    readonly gdc: number,
  ) {}

  /** The effective W[in, out] this matrix computes with (scales and GDC applied), for inspection. */
  effectiveWeights(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.concat(this.weights.map((w, i) => tf.mul(w, this.tiled.scales[i]!)), 0), this.gdc) as tf.Tensor2D);
  }

  /**
   * Analog y = x·W for x[B, in] through the tiles' periphery; noise from `rng`.
   * On the wasm backend the periphery runs fused in JS on views of the wasm heap (see
   * fused-periphery.ts); elsewhere, or with AIMC_FUSED=0, as tfjs ops. Both draw the same
   * noise from the same streams and agree up to float32 rounding.
   */
  forward(x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
    if (fusedPeripheryAvailable()) return fusedForward(this, x, rng);
    return this.forwardOps(x, rng);
  }

  /** The periphery as plain tfjs ops (any backend; the reference for the fused path). */
  forwardOps(x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
    const { grid, device } = this.tiled;
    const per = device.periphery;
    const B = x.shape[0];
    const parts: tf.Tensor2D[] = [];
    grid.rowSpans.forEach((r, i) => {
      parts.push(
        tf.tidy(() => {
          const xi = grid.rowSpans.length === 1 ? x : (tf.slice(x, [0, r.start], [B, r.size]) as tf.Tensor2D);
          const alpha =
            per.noiseManagement === 'abs-max'
              ? (tf.maximum(tf.max(tf.abs(xi), 1, true), 1e-12) as tf.Tensor2D)
              : (tf.ones([B, 1]) as tf.Tensor2D);
          const xn = tf.div(xi, alpha) as tf.Tensor2D;
          const y = this.tileMVM(xn, i, rng.child(`rowtile-${i}`));
          return tf.mul(tf.mul(y, alpha), this.tiled.scales[i]!) as tf.Tensor2D;
        }),
      );
    });
    const sum = parts.length === 1 ? parts[0]! : (tf.addN(parts) as tf.Tensor2D);
    if (parts.length > 1) parts.forEach((p) => p.dispose());
    if (this.gdc === 1) return sum;
    const out = tf.mul(sum, this.gdc) as tf.Tensor2D;
    sum.dispose();
    return out;
  }

  /**
   * One row tile's MVM in normalized units: DAC, rank-2 matmul, output noise, ADC, with
   * iterative bound management per (input row, column tile): while an output of a column
   * tile reaches the ADC bound, halve that row's input and repeat (up to the profile's
   * iteration limit), then undo the halving digitally.
   */
  private tileMVM(xn: tf.Tensor2D, i: number, rng: RandomStream): tf.Tensor2D {
    const per = this.tiled.device.periphery;
    const W = this.weights[i]!;
    const once = (scale: number, k: number): { y: tf.Tensor2D; sat: tf.Tensor2D } =>
      tf.tidy(() => {
        const xin = scale === 1 ? xn : tf.mul(xn, scale);
        const xq = convert(xin, per.dac);
        let y = tf.matMul(xq, W) as tf.Tensor2D;
        if (per.outputNoise > 0) y = tf.add(y, tf.mul(normalTensor(rng.child(`bm-${k}`), y.shape), per.outputNoise)) as tf.Tensor2D;
        const sat = this.saturated(y);
        return { y: tf.div(convert(y, per.adc), scale) as tf.Tensor2D, sat };
      });
    let { y, sat } = once(1, 0);
    if (per.boundManagement !== 'iterative') {
      sat.dispose();
      return y;
    }
    for (let k = 1; k <= per.boundManagementIterations; k++) {
      // Small [B, colTiles] readback: deciding whether to iterate needs the host.
      if (!sat.dataSync().some((v) => v > 0)) break;
      const next = once(2 ** -k, k);
      const merged = tf.tidy(() => {
        const mask = tf.cast(this.expandCols(sat), 'bool');
        return {
          y: tf.where(mask, next.y, y) as tf.Tensor2D,
          // Still saturated only where it was and remains so.
          sat: tf.mul(sat, next.sat) as tf.Tensor2D,
        };
      });
      [y, sat, next.y, next.sat].forEach((t) => t.dispose());
      ({ y, sat } = merged);
    }
    sat.dispose();
    return y;
  }

  /** 1 where any output of a column tile reaches the ADC bound, per row: [B, colTiles]. */
  private saturated(y: tf.Tensor2D): tf.Tensor2D {
    const { grid, device } = this.tiled;
    const bound = device.periphery.adc.bound;
    return tf.tidy(() => {
      const a = tf.abs(y);
      const per = grid.colSpans.map((c) =>
        grid.colSpans.length === 1 ? tf.max(a, 1, true) : tf.max(tf.slice(a, [0, c.start], [y.shape[0], c.size]), 1, true),
      );
      return tf.cast(tf.greaterEqual(per.length === 1 ? per[0]! : tf.concat(per, 1), bound), 'float32') as tf.Tensor2D;
    });
  }

  /** [B, colTiles] → [B, out] by repeating each column tile's flag over its columns. */
  private expandCols(flags: tf.Tensor2D): tf.Tensor2D {
    const { grid } = this.tiled;
    return tf.tidy(() => {
      const parts = grid.colSpans.map((c, j) => tf.tile(tf.slice(flags, [0, j], [flags.shape[0], 1]), [1, c.size]));
      return (parts.length === 1 ? parts[0]! : tf.concat(parts, 1)) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.weights.forEach((w) => w.dispose());
  }
}

/** Step of the ADC in normalized output units (for error bounds). */
export function adcStep(device: DeviceModel): number {
  return converterStep(device.periphery.adc);
}
