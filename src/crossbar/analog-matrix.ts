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
import { conductancesAt, driftCompensationFactor, programWeights, weightsAt, type ProgrammedWeights } from './mapping.js';
import { irDropWeights } from './ir-drop.js';
import { AdcRangeCalibration } from './adc-range.js';
import { analogTile, preAdcOutputs, type AdcColumns, type TileLayout, type TilePeriphery, type TileRead } from '../tensor/kernels/index.js';
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

/**
 * Bit-sliced weights (CrossSim's weight slicing): |w| quantized to L = round(|w|·(B^N − 1))
 * levels, written in base B as digits d_k (k = 0 least significant); slice k holds
 * sign(w)·d_k/(B − 1) ∈ [−1, 1] on devices of its own, and its scale carries its significance
 * (B − 1)·B^k/(B^N − 1), so Σ_k slice_k·scale_k = sign·L/(B^N − 1)·scale ≈ w·scale.
 */
export function sliceWeights(
  w: tf.Tensor2D,
  scale: tf.Tensor2D,
  count: number,
  base: number,
): { block: tf.Tensor2D; scale: tf.Tensor2D }[] {
  const levels = base ** count - 1;
  return tf.tidy(() => {
    const L = tf.round(tf.mul(tf.minimum(tf.abs(w), 1), levels));
    const sign = tf.sign(w);
    return Array.from({ length: count }, (_, k) => ({
      block: tf.div(tf.mul(sign, tf.mod(tf.floor(tf.div(L, base ** k)), base)), base - 1) as tf.Tensor2D,
      scale: tf.mul(scale, ((base - 1) * base ** k) / levels) as tf.Tensor2D,
    }));
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
    /** Weight slices per row span: the blocks of span i are i·slices … i·slices + slices − 1. */
    readonly slices = 1,
  ) {
    const colTileOf = new Int32Array(grid.outFeatures);
    grid.colSpans.forEach((c, j) => colTileOf.fill(j, c.start, c.start + c.size));
    this.layout = {
      inFeatures: grid.inFeatures,
      outFeatures: grid.outFeatures,
      // Each weight slice is a tile of its own over the same inputs; the kernel's digital sum over
      // row tiles is then the slices' shift-and-add (their significance is in their scales).
      rowSpans: grid.rowSpans.flatMap((r) => Array.from({ length: slices }, () => r)),
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
    const sl = device.profile.mapping.slices;
    const N = sl?.count ?? 1;
    for (const r of grid.rowSpans) {
      const [b, s] = tf.tidy(() => {
        const raw = tf.slice(W, [r.start, 0], [r.size, outF]) as tf.Tensor2D;
        const s = blockScales(raw, grid, perColumn);
        return [tf.div(raw, s) as tf.Tensor2D, s];
      });
      if (N === 1) {
        blocks.push(b);
        scales.push(s);
        continue;
      }
      const parts = sliceWeights(b, s, N, sl!.base);
      b.dispose();
      s.dispose();
      for (const q of parts) {
        blocks.push(q.block);
        scales.push(q.scale);
      }
    }
    return new TiledMatrix(device, grid, blocks, scales, N);
  }

  /** Program every tile's devices (draws from `rng`/tile-i/...). */
  program(rng: RandomStream): ProgrammedMatrix {
    if (this.blocks.some((b) => b.isDisposed)) throw new Error('TiledMatrix.program: the weights were released after programming');
    const devices: ProgrammedWeights[] = [];
    try {
      this.blocks.forEach((b, i) => devices.push(programWeights(this.device, b, rng.child(`rowtile-${i}`))));
      return new ProgrammedMatrix(this, devices, rng.child('gdc'), this.drawPeriphery(rng.child('periphery')));
    } catch (e) {
      devices.forEach((d) => d.dispose());
      throw e;
    }
  }

  /**
   * This chip's periphery mismatch, drawn once per chip from `rng`/rowtile-i/…: the output
   * non-linearity of each tile column (aihwkit out_nonlinearity: n = strength / adcBound ·
   * (1 + std·ε), clipped at 0 so a column never bends the wrong way) and the ADC of each
   * column (ramp: gain and offset; SAR: offset and bit weights 2^k·(1 + m/√(2^k)·ε)).
   */
  private drawPeriphery(rng: RandomStream): ChipPeriphery {
    const per = this.device.periphery;
    const out = this.grid.outFeatures;
    const nl = per.outputNonlinearity;
    const base = nl ? nl.strength / per.adc.bound : 0;
    const nonlinearity =
      nl && nl.strength > 0
        ? this.layout.rowSpans.map((_, i) =>
            rng
              .child(`rowtile-${i}`, 'nonlinearity')
              .normal(out)
              .map((e) => base * Math.max(0, 1 + nl.std * e)),
          )
        : null;
    const model = per.adc.model ?? 'ideal';
    // aimc's b-bit convention has 2^(b+1) − 3 levels: the SAR takes b + 1 cycles.
    const bits = (per.adc.bits ?? 0) + 1;
    const adc =
      model === 'ideal'
        ? null
        : this.layout.rowSpans.map((_, i) => {
            const r = rng.child(`rowtile-${i}`);
            const offset = r
              .child('adc-offset')
              .normal(out)
              .map((e) => (per.adc.offsetStd ?? 0) * e);
            const gain =
              model === 'ramp'
                ? r
                    .child('adc-gain')
                    .normal(out)
                    .map((e) => (per.adc.gainStd ?? 0) * e)
                : new Float32Array(out);
            let weights = new Float32Array(0);
            if (model === 'sar') {
              const m = per.adc.capacitorMismatch ?? 0;
              const eps = r.child('adc-capacitors').normal(out * bits);
              weights = eps.map((e, idx) => {
                const k = idx % bits;
                return 2 ** k * (1 + (m / Math.sqrt(2 ** k)) * e);
              });
            }
            return { gain, offset, weights };
          });
    return { nonlinearity, adc };
  }

  /** Free the normalized weights (programming needs them, reading does not); scales stay. */
  releaseBlocks(): void {
    for (const b of this.blocks) if (!b.isDisposed) b.dispose();
  }

  dispose(): void {
    for (const t of [...this.blocks, ...this.scales]) if (!t.isDisposed) t.dispose();
  }
}

/** Mean |w| per column of each row tile of normalized weights (the per-column GDC readout), [out] each. */
function columnMeanAbs(ws: tf.Tensor2D[]): Float32Array[] {
  return ws.map((w) => tf.tidy(() => tf.mean(tf.abs(w), 0).dataSync() as Float32Array));
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

/**
 * One row tile's normalized weights read at t s: the devices' conductances through the
 * tile's wires when the profile has IR drop (`tile.irDrop`), else directly.
 */
function readTile(
  tiled: TiledMatrix,
  pw: ProgrammedWeights,
  t: number,
  rng: RandomStream,
  opts: { atReference?: boolean } = {},
): tf.Tensor2D {
  const dev = tiled.device;
  const w = dev.tile.irDrop;
  if (!w || (w.rowSegment === 0 && w.colSegment === 0)) return weightsAt(dev, pw, t, rng, opts) as tf.Tensor2D;
  const g = conductancesAt(dev, pw, t, rng, opts);
  try {
    return irDropWeights(dev, g.pos as tf.Tensor2D, g.neg as tf.Tensor2D | null, tiled.grid.colSpans, {
      rRow: w.rowSegment,
      rCol: w.colSegment,
    });
  } finally {
    g.pos.dispose();
    g.neg?.dispose();
  }
}

/** A chip's periphery mismatch, drawn at programming (one chip per trial), per row tile. */
export interface ChipPeriphery {
  nonlinearity: Float32Array[] | null;
  adc: AdcColumns[] | null;
}

const LINEAR_IDEAL: ChipPeriphery = { nonlinearity: null, adc: null };

export class ProgrammedMatrix {
  /** Drift-compensation reference: mean |W| read right after programming. */
  readonly gdcReference: number;
  /** Calibrated ADC range gains per row tile (null: every ADC at its bound, or not calibrated yet). */
  private adcRangeGain: Float32Array[] | null = null;
  private calibrating: { weights: tf.Tensor2D[]; ranges: AdcRangeCalibration } | null = null;
  /** Per-column compensation references (mean |w| per column of each row tile), when the profile compensates per column. */
  readonly columnReference: Float32Array[] | null;

  constructor(
    readonly tiled: TiledMatrix,
    readonly devices: ProgrammedWeights[],
    gdcRng: RandomStream,
    /** This chip's periphery mismatch (non-linearity, ADCs) per row tile. */
    readonly chip: ChipPeriphery = LINEAR_IDEAL,
  ) {
    // The compensation reference is read right after programming, at the reference temperature.
    const ref = devices.map((d, i) => readTile(this.tiled, d, 0, gdcRng.child(`rowtile-${i}`), { atReference: true }));
    this.gdcReference = meanAbs(ref);
    try {
      if (!Number.isFinite(this.gdcReference)) nonFinite(ref, this.tiled.device.name, 0);
      this.columnReference = this.tiled.device.columnCompensation ? columnMeanAbs(ref) : null;
    } finally {
      ref.forEach((t) => t.dispose());
    }
  }

  /** Whether the profile calibrates its ADC ranges (then `observeForAdc` + `finishAdcCalibration` after programming). */
  get calibratesAdc(): boolean {
    return !!this.tiled.device.periphery.adc.calibration;
  }

  /**
   * Calibration inputs x[B, in] through the freshly programmed arrays (a read right after
   * programming at the reference temperature, from `rng`): each ADC records the analog
   * outputs it would convert — abs-max scaled, through the DAC and the output non-linearity,
   * without output noise.
   */
  observeForAdc(x: tf.Tensor2D, rng: RandomStream): void {
    const t = this.tiled;
    const cal = t.device.periphery.adc.calibration;
    if (!cal) throw new Error(`${t.device.name}: the profile does not calibrate its ADC ranges (periphery.adc.calibration)`);
    this.calibrating ??= {
      weights: this.devices.map((d, i) => readTile(t, d, 0, rng.child(`rowtile-${i}`), { atReference: true })),
      ranges: new AdcRangeCalibration(t.layout, t.periphery.adcBound, cal),
    };
    const { weights, ranges } = this.calibrating;
    const read = { x, layout: t.layout, periphery: t.periphery, weights, nonlinearity: this.chip.nonlinearity };
    t.layout.rowSpans.forEach((_, i) => {
      const y = preAdcOutputs(read, i);
      ranges.observe(i, y.dataSync() as Float32Array);
      y.dispose();
    });
  }

  /** Fix each ADC's range from what `observeForAdc` saw (for every later read). */
  finishAdcCalibration(): void {
    if (!this.calibrating) throw new Error(`${this.tiled.device.name}: ADC range calibration saw no inputs`);
    this.adcRangeGain = this.calibrating.ranges.gains();
    this.calibrating.weights.forEach((w) => w.dispose());
    this.calibrating = null;
  }

  /**
   * The matrix at t seconds after programming: conductances from the same devices with
   * drift and a fresh read-noise draw, and the GDC factor reference/current when enabled.
   */
  at(t: number, rng: RandomStream, opts: { compensate?: boolean } = {}): AnalogMatrix {
    const dev = this.tiled.device;
    const weights = this.devices.map((d, i) => readTile(this.tiled, d, t, rng.child(`rowtile-${i}`)));
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
    if (compensate && this.columnReference) {
      // Per-column GDC (aihwkit PerColumnDriftCompensation): each tile column rescaled by its
      // own reference/current readout — digital, after the ADC, so it folds into the scales.
      const current = columnMeanAbs(weights);
      const factors = this.columnReference.map((ref, i) => ref.map((r, j) => driftCompensationFactor(r, current[i]![j]!)));
      return new AnalogMatrix(this.tiled, weights, 1, this.chip, factors, this.adcRangeGain);
    }
    const gdc = compensate ? driftCompensationFactor(this.gdcReference, mean) : 1;
    return new AnalogMatrix(this.tiled, weights, gdc, this.chip, null, this.adcRangeGain);
  }

  dispose(): void {
    this.devices.forEach((d) => d.dispose());
    this.calibrating?.weights.forEach((w) => w.dispose());
    this.calibrating = null;
  }
}

export class AnalogMatrix {
  /** Weight scales with per-column compensation folded in (null: the tiling's own scales). */
  private readonly compensatedScales: tf.Tensor2D[] | null;
  private compensatedHost: Float32Array[] | null = null;

  constructor(
    readonly tiled: TiledMatrix,
    /** Normalized effective weights per row tile at time t, [rows_i, out]. */
    readonly weights: tf.Tensor2D[],
    /** Global drift-compensation factor applied to outputs (1 when off or per column). */
    readonly gdc: number,
    /** The chip's periphery mismatch per row tile. */
    readonly chip: ChipPeriphery = LINEAR_IDEAL,
    /** Per-column compensation factors per row tile, [out] each (null = global or none). */
    readonly columnGdc: Float32Array[] | null = null,
    /** Calibrated ADC range gains per row tile (null = every ADC at its bound). */
    readonly adcRangeGain: Float32Array[] | null = null,
  ) {
    this.compensatedScales = columnGdc
      ? tiled.scales.map((s, i) => tf.tidy(() => tf.mul(s, tf.tensor2d(columnGdc[i]!, [1, columnGdc[i]!.length])) as tf.Tensor2D))
      : null;
  }

  /** Mean compensation factor (the global factor, or the mean of the per-column ones), for reports. */
  meanGdc(): number {
    if (!this.columnGdc) return this.gdc;
    const n = this.columnGdc.reduce((a, f) => a + f.length, 0);
    return this.columnGdc.reduce((a, f) => a + f.reduce((b, v) => b + v, 0), 0) / n;
  }

  private scales(): tf.Tensor2D[] {
    return this.compensatedScales ?? this.tiled.scales;
  }

  /** The effective W[in, out] this matrix computes with (scales and GDC applied), for inspection. */
  effectiveWeights(): tf.Tensor2D {
    const scales = this.scales();
    const N = this.tiled.slices;
    return tf.tidy(() => {
      const parts = this.weights.map((w, i) => tf.mul(w, scales[i]!));
      // Weight slices of one span add up (shift-and-add) to its rows.
      const rows = N === 1 ? parts : Array.from({ length: parts.length / N }, (_, i) => tf.addN(parts.slice(i * N, (i + 1) * N)));
      return tf.mul(tf.concat(rows, 0), this.gdc) as tf.Tensor2D;
    });
  }

  /** Analog y = x·W for x[B, in] through the tiles' periphery (the analogTile kernel); noise from `rng`. */
  forward(x: tf.Tensor2D, rng: RandomStream): tf.Tensor2D {
    return analogTile(this.tileRead(x), rng);
  }

  /** What the analogTile kernel reads for input x: this matrix's weights, scales, compensation and periphery. */
  tileRead(x: tf.Tensor2D): TileRead {
    const t = this.tiled;
    return {
      x,
      layout: t.layout,
      periphery: t.periphery,
      weights: this.weights,
      scales: this.scales(),
      hostScales: () =>
        this.compensatedScales
          ? (this.compensatedHost ??= this.compensatedScales.map((s) => s.dataSync() as Float32Array))
          : t.hostScales(),
      gdc: this.gdc,
      nonlinearity: this.chip.nonlinearity,
      adc: this.chip.adc,
      adcRangeGain: this.adcRangeGain,
    };
  }

  dispose(): void {
    this.weights.forEach((w) => w.dispose());
    this.compensatedScales?.forEach((s) => s.dispose());
  }
}
