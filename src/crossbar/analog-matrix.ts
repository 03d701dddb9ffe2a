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
import type { DeviceModel } from '../device/model.js';
import { driftCompensationFactor, programWeights, weightsAt, type ProgrammedWeights } from './mapping.js';
import { analogTile, type TileLayout, type TilePeriphery } from '../tensor/kernels/index.js';
import { RandomStream } from '../tensor/random.js';
import { tileGrid, type TileGrid } from './tiling.js';
import { tilePeriphery } from './periphery.js';

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
  private host: Float32Array[] | null = null;
  /** How the matrix lies on tiles, for the analog-tile kernel. */
  readonly layout: TileLayout;
  /** The device's periphery as kernel parameters. */
  readonly periphery: TilePeriphery;

  private constructor(
    readonly device: DeviceModel,
    readonly grid: TileGrid,
    /** Normalized weights per row tile, |w| <= 1, [rows_i, out]. */
    readonly blocks: tf.Tensor2D[],
    /** Weight scale per row tile, [1, out]. */
    readonly scales: tf.Tensor2D[],
  ) {
    const colTileOf = new Int32Array(grid.outFeatures);
    grid.colSpans.forEach((c, j) => colTileOf.fill(j, c.start, c.start + c.size));
    this.layout = {
      inFeatures: grid.inFeatures,
      outFeatures: grid.outFeatures,
      rowSpans: grid.rowSpans,
      colSpans: grid.colSpans,
      colTileOf,
    };
    this.periphery = tilePeriphery(device.periphery);
  }

  /** The weight scales as host arrays (read once: they never change). */
  hostScales(): Float32Array[] {
    return (this.host ??= this.scales.map((t) => t.dataSync() as Float32Array));
  }

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
    if (this.blocks.some((b) => b.isDisposed)) throw new Error('TiledMatrix.program: the weights were released after programming');
    const devices: ProgrammedWeights[] = [];
    try {
      this.blocks.forEach((b, i) => devices.push(programWeights(this.device, b, rng.child(`rowtile-${i}`))));
      return new ProgrammedMatrix(this, devices, rng.child('gdc'));
    } catch (e) {
      devices.forEach((d) => d.dispose());
      throw e;
    }
  }

  /** Free the normalized weights (programming needs them, reading does not); scales stay. */
  releaseBlocks(): void {
    for (const b of this.blocks) if (!b.isDisposed) b.dispose();
  }

  dispose(): void {
    for (const t of [...this.blocks, ...this.scales]) if (!t.isDisposed) t.dispose();
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
  throw new NonFiniteError(
    [`t = ${t} s`, `device ${device}`],
    `${bad ? `${bad} of ${n}` : 'some'} programmed conductances are not finite — the profile's physics produces NaN or infinity for conductances this deployment reaches`,
  );
}

export class ProgrammedMatrix {
  /** Drift-compensation reference: mean |W| read right after programming. */
  readonly gdcReference: number;

  constructor(
    readonly tiled: TiledMatrix,
    readonly devices: ProgrammedWeights[],
    gdcRng: RandomStream,
  ) {
    const ref = devices.map((d, i) => weightsAt(this.tiled.device, d, 0, gdcRng.child(`rowtile-${i}`)) as tf.Tensor2D);
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
    const weights = this.devices.map((d, i) => weightsAt(dev, d, t, rng.child(`rowtile-${i}`)) as tf.Tensor2D);
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
    const gdc = compensate ? driftCompensationFactor(this.gdcReference, mean) : 1;
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
    return tf.tidy(
      () =>
        tf.mul(
          tf.concat(
            this.weights.map((w, i) => tf.mul(w, this.tiled.scales[i]!)),
            0,
          ),
          this.gdc,
        ) as tf.Tensor2D,
    );
  }

  /** Analog y = x·W for x[B, in] through the tiles' periphery (the analogTile kernel); noise from `rng`. */
  forward(x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
    const t = this.tiled;
    const read = {
      x,
      layout: t.layout,
      periphery: t.periphery,
      weights: this.weights,
      scales: t.scales,
      hostScales: () => t.hostScales(),
      gdc: this.gdc,
    };
    return analogTile(read, rng);
  }

  dispose(): void {
    this.weights.forEach((w) => w.dispose());
  }
}
