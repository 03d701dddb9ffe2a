/**
 * The noise budget of a device profile: how much each non-ideality alone, and all of them
 * together, perturb an analog MVM — ‖y − x·W‖ / ‖x·W‖ on random weights and inputs, read
 * t seconds after programming.
 *
 * "Alone" means: start from the ideal profile (every source off: exact conductances, no
 * drift, no read noise, unquantized unbounded converters, no output noise), switch the one
 * source back on exactly as the profile has it, and run the same tile pipeline
 * (TiledMatrix → program → read at t → analogTile) as a deployment. Every variant draws its
 * weights, inputs and noise from the same named streams, so the sources are compared on the
 * same chips. The profile's mapping, tile size, noise and bound management and drift
 * compensation stay as they are in every variant: they are how the chip is operated, not
 * sources of error.
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceProfile } from '../device/types.js';
import { DeviceModel } from '../device/model.js';
import { temperatureFactors } from '../device/physics.js';
import { RandomStream } from '../tensor/random.js';
import { TiledMatrix } from './analog-matrix.js';

/** A converter bound that never clips (finite, so every engine handles it as a number). */
const NO_BOUND = 1e30;

/** One non-ideality: whether a profile has it, and how to copy it onto another profile. */
export interface BudgetSource {
  /** Name in tables and JSON (`programming`, `drift`, `readNoise`, …). */
  name: string;
  present(p: DeviceProfile): boolean;
  /** `into` with this source set as in `from` (both full profiles; `into` is not modified). */
  apply(into: DeviceProfile, from: DeviceProfile): DeviceProfile;
}

/** Every source aimc models, in pipeline order (device first, then the periphery). */
export const BUDGET_SOURCES: readonly BudgetSource[] = [
  {
    // Slicing is how the chip stores weights, so every line of a sliced profile has it; this
    // line is what it costs by itself: the weights' quantization to base^count − 1 levels.
    name: 'slices',
    present: (p) => (p.mapping.slices?.count ?? 1) > 1,
    apply: (into) => into,
  },
  {
    name: 'programming',
    present: (p) => !(typeof p.programming.std === 'number' && p.programming.std === 0) && p.scales.programming > 0,
    apply: (into, from) => ({ ...into, programming: from.programming, scales: { ...into.scales, programming: from.scales.programming } }),
  },
  {
    name: 'levels',
    present: (p) => p.conductance.levels !== null,
    apply: (into, from) => ({ ...into, conductance: { ...into.conductance, levels: from.conductance.levels } }),
  },
  {
    name: 'faults',
    present: (p) => p.faults.stuckAtGMin > 0 || p.faults.stuckAtGMax > 0,
    apply: (into, from) => ({ ...into, faults: from.faults }),
  },
  {
    name: 'drift',
    present: (p) => p.drift !== null && p.scales.drift > 0,
    apply: (into, from) => ({ ...into, drift: from.drift, scales: { ...into.scales, drift: from.scales.drift } }),
  },
  {
    name: 'readNoise',
    present: (p) => p.readNoise !== null && p.scales.read > 0,
    // Read noise and relaxation share the read scale: copying it alone leaves relaxation off.
    apply: (into, from) => ({ ...into, readNoise: from.readNoise, scales: { ...into.scales, read: from.scales.read } }),
  },
  {
    name: 'relaxation',
    present: (p) => p.relaxation !== null && p.scales.read > 0,
    apply: (into, from) => ({ ...into, relaxation: from.relaxation, scales: { ...into.scales, read: from.scales.read } }),
  },
  {
    name: 'temperature',
    present: (p) => temperatureFactors(p).conductance !== 1,
    apply: (into, from) => ({ ...into, temperature: from.temperature ?? null }),
  },
  {
    name: 'irDrop',
    present: (p) => !!p.tile.irDrop && (p.tile.irDrop.rowSegment > 0 || p.tile.irDrop.colSegment > 0),
    apply: (into, from) => ({ ...into, tile: { ...into.tile, irDrop: from.tile.irDrop ?? null } }),
  },
  {
    name: 'inputNoise',
    present: (p) => (p.periphery.inputNoise ?? 0) > 0,
    apply: (into, from) => ({ ...into, periphery: { ...into.periphery, inputNoise: from.periphery.inputNoise ?? 0 } }),
  },
  {
    name: 'dac',
    present: (p) => p.periphery.dac.bits !== null || p.periphery.noiseManagement === 'none',
    apply: (into, from) => ({ ...into, periphery: { ...into.periphery, dac: from.periphery.dac } }),
  },
  {
    name: 'adc',
    present: () => true,
    apply: (into, from) => ({ ...into, periphery: { ...into.periphery, adc: from.periphery.adc } }),
  },
  {
    name: 'outputNoise',
    present: (p) => p.periphery.outputNoise > 0,
    apply: (into, from) => ({ ...into, periphery: { ...into.periphery, outputNoise: from.periphery.outputNoise } }),
  },
  {
    name: 'outputNonlinearity',
    present: (p) => (p.periphery.outputNonlinearity?.strength ?? 0) > 0,
    apply: (into, from) => ({ ...into, periphery: { ...into.periphery, outputNonlinearity: from.periphery.outputNonlinearity ?? null } }),
  },
];

/** The profile with every budget source off (what `x·W` would compute, through the same pipeline). */
export function idealProfile(p: DeviceProfile): DeviceProfile {
  return {
    ...p,
    // The read temperature stays (it accelerates drift, when drift is on); its effect on the
    // conductances is the `temperature` source.
    temperature: p.temperature ? { ...p.temperature, conductanceCoefficient: 0 } : (p.temperature ?? null),
    name: `${p.name}/ideal`,
    conductance: { ...p.conductance, levels: null },
    programming: { std: 0 },
    drift: null,
    readNoise: null,
    relaxation: null,
    faults: { stuckAtGMin: 0, stuckAtGMax: 0 },
    tile: { ...p.tile, irDrop: null },
    periphery: {
      ...p.periphery,
      dac: { bits: null, bound: NO_BOUND },
      adc: { bits: null, bound: NO_BOUND },
      outputNoise: 0,
      inputNoise: 0,
      outputNonlinearity: null,
    },
  };
}

export interface BudgetOptions {
  /** Weight matrix rows (inputs) and columns (outputs); default: one tile of the profile. */
  rows?: number;
  cols?: number;
  /** Read time after programming, s. */
  t: number;
  /** Input vectors per trial. */
  samples: number;
  /** Independent trials (fresh weights, inputs and chip each). */
  trials: number;
  seed: string;
}

export interface BudgetLine {
  /** A source name from BUDGET_SOURCES, or `all`. */
  source: string;
  /** Mean over trials of ‖y − x·W‖_F / ‖x·W‖_F (dimensionless). */
  relativeError: number;
  /** Standard error of that mean over the trials (0 with one trial). */
  standardError: number;
}

/** ‖a − b‖ / ‖b‖ over all elements. */
function relativeNorm(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const num = tf.sum(tf.square(tf.sub(a, b))).dataSync()[0]!;
    const den = tf.sum(tf.square(b)).dataSync()[0]!;
    return Math.sqrt(num / Math.max(den, 1e-30));
  });
}

/**
 * ‖y − x·W‖ / ‖x·W‖ of one chip of `device`: W[in, out] programmed, read at t s, x[B, in]
 * through its tiles. A profile that calibrates its ADC ranges sees `calibration` (inputs from
 * the same distribution as x, not x itself) at programming.
 */
export function mvmError(
  device: DeviceModel,
  W: tf.Tensor2D,
  x: tf.Tensor2D,
  t: number,
  rng: RandomStream,
  calibration?: tf.Tensor2D,
): number {
  const tiled = TiledMatrix.map(W, device);
  const chip = tiled.program(rng.child('program'));
  tiled.releaseBlocks();
  if (chip.calibratesAdc) {
    if (!calibration) throw new Error(`${device.name}: the profile calibrates its ADC ranges; give calibration inputs`);
    chip.observeForAdc(calibration, rng.child('adc-calibration'));
    chip.finishAdcCalibration();
  }
  const read = chip.at(t, rng.child('read'));
  const y = read.forward(x, rng.child('mvm'));
  const ideal = tf.matMul(x, W);
  const e = relativeNorm(y, ideal);
  [y, ideal].forEach((v) => v.dispose());
  read.dispose();
  chip.dispose();
  tiled.dispose();
  return e;
}

/** Relative MVM error of one profile variant per trial, on the streams of `rng`. */
function trialErrors(profile: DeviceProfile, o: Required<BudgetOptions>, rng: RandomStream): number[] {
  const device = new DeviceModel(profile);
  const errors: number[] = [];
  for (let k = 0; k < o.trials; k++) {
    const r = rng.child('trial', k);
    const W = tf.tensor2d(r.child('w').normal(o.rows * o.cols), [o.rows, o.cols]);
    const x = tf.tensor2d(r.child('x').normal(o.samples * o.rows), [o.samples, o.rows]);
    const cal = device.periphery.adc.calibration
      ? tf.tensor2d(r.child('x-calibration').normal(o.samples * o.rows), [o.samples, o.rows])
      : undefined;
    const e = mvmError(device, W, x, o.t, r, cal);
    W.dispose();
    x.dispose();
    cal?.dispose();
    if (!Number.isFinite(e)) throw new Error(`${profile.name}: the relative MVM error is not finite (trial ${k})`);
    errors.push(e);
  }
  return errors;
}

function summarize(source: string, errors: number[]): BudgetLine {
  const n = errors.length;
  const mean = errors.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? errors.reduce((a, e) => a + (e - mean) ** 2, 0) / (n - 1) : 0;
  return { source, relativeError: mean, standardError: Math.sqrt(variance / n) };
}

/** The sources present in a profile (those a budget reports). */
export function presentSources(p: DeviceProfile): BudgetSource[] {
  return BUDGET_SOURCES.filter((s) => s.present(p));
}

/**
 * The noise budget of `profile`: one line per source present in it (that source alone),
 * then `all` (the profile as it is).
 */
export function noiseBudget(profile: DeviceProfile, opts: BudgetOptions, onSource?: (source: string) => void): BudgetLine[] {
  const o: Required<BudgetOptions> = { rows: profile.tile.rows, cols: profile.tile.cols, ...opts };
  const rng = new RandomStream(`${o.seed}/tile-error`);
  const ideal = idealProfile(profile);
  const lines: BudgetLine[] = [];
  for (const s of presentSources(profile)) {
    onSource?.(s.name);
    lines.push(summarize(s.name, trialErrors({ ...s.apply(ideal, profile), name: `${profile.name}/${s.name}` }, o, rng)));
  }
  onSource?.('all');
  lines.push(summarize('all', trialErrors(profile, o, rng)));
  return lines;
}
