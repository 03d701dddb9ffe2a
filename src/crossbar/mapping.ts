/**
 * Weights ↔ conductances, as the profile's mapping section says: normalized weights (|w| ≤ 1,
 * the tile's scale divided out) are programmed as conductance targets — differential: w > 0
 * on G+, w < 0 on G−, w = (G+ − G−)/(gMax − gMin); single: one device per weight, w mapped
 * linearly onto [gMin, gMax] against a fixed mid-range reference — and read back at time t.
 * Also the statistics that depend on the mapping: global drift compensation and the
 * relative weight noise StochGRASP targets.
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceModel, ProgrammedDevices } from '../device/model.js';
import { RandomStream } from '../tensor/random.js';

/** A weight matrix's devices after programming (neg null for single-device mapping). */
export interface ProgrammedWeights {
  readonly pos: ProgrammedDevices;
  readonly neg: ProgrammedDevices | null;
  dispose(): void;
}

/** Program normalized weights (|w| ≤ 1; clipped) on `device`'s conductances; draws from `rng`/g± or /g. */
export function programWeights(device: DeviceModel, w: tf.Tensor, rng: RandomStream): ProgrammedWeights {
  const span = device.gMax - device.gMin;
  const wc = tf.clipByValue(w, -1, 1);
  if (device.profile.mapping.scheme === 'single') {
    const target = tf.tidy(() => tf.add(tf.mul(tf.add(wc, 1), span / 2), device.gMin));
    wc.dispose();
    const pos = device.program(target, rng.child('g'));
    target.dispose();
    return { pos, neg: null, dispose: () => pos.dispose() };
  }
  const tp = tf.tidy(() => tf.add(tf.mul(tf.relu(wc), span), device.gMin));
  const tn = tf.tidy(() => tf.add(tf.mul(tf.relu(tf.neg(wc)), span), device.gMin));
  wc.dispose();
  const pos = device.program(tp, rng.child('g+'));
  const neg = device.program(tn, rng.child('g-'));
  tp.dispose();
  tn.dispose();
  return { pos, neg, dispose: () => (pos.dispose(), neg.dispose()) };
}

/** Conductances (µS) of programmed devices at t seconds: G+ and G− (neg null for single mapping). */
export function conductancesAt(
  device: DeviceModel,
  pw: ProgrammedWeights,
  t: number,
  rng: RandomStream,
  opts: { atReference?: boolean } = {},
): { pos: tf.Tensor; neg: tf.Tensor | null } {
  const pos = device.conductanceAt(pw.pos, t, rng.child('g+'), opts);
  const neg = pw.neg ? device.conductanceAt(pw.neg, t, rng.child('g-'), opts) : null;
  return { pos, neg };
}

/** Normalized weights from conductances (µS) as the profile maps them: (G+ − G−)/span, or 2(G − gMin)/span − 1. */
export function weightsOf(device: DeviceModel, pos: tf.Tensor, neg: tf.Tensor | null): tf.Tensor {
  const span = device.gMax - device.gMin;
  return tf.tidy(() => (neg ? tf.div(tf.sub(pos, neg), span) : tf.sub(tf.mul(tf.sub(pos, device.gMin), 2 / span), 1)));
}

/**
 * Normalized weights read from programmed devices at t seconds (uncompensated); `atReference`:
 * at the profile's reference temperature (the compensation reference read after programming).
 */
export function weightsAt(
  device: DeviceModel,
  pw: ProgrammedWeights,
  t: number,
  rng: RandomStream,
  opts: { atReference?: boolean } = {},
): tf.Tensor {
  return tf.tidy(() => {
    const g = conductancesAt(device, pw, t, rng, opts);
    return weightsOf(device, g.pos, g.neg);
  });
}

/** `n` normalized weights uniform in [−1, 1) from `rng`, as a tensor. */
export function uniformWeights(rng: RandomStream, n: number): tf.Tensor1D {
  return tf.tensor1d(rng.uniform(new Float32Array(n)).map((u) => 2 * u - 1));
}

/** Global drift compensation factor: mean |W| read after programming over mean |W| now. */
export function driftCompensationFactor(referenceMeanAbs: number, currentMeanAbs: number): number {
  return referenceMeanAbs / Math.max(currentMeanAbs, 1e-12);
}

export interface WeightPopulation {
  /** RMS error of read weights against their targets, relative to max|W| (uncompensated). */
  rms: number;
  /** The same with global drift compensation. */
  rmsCompensated: number;
  /** The compensation factor such a layer would apply. */
  gdc: number;
}

const populations = new WeakMap<DeviceModel, Map<string, WeightPopulation>>();

/**
 * Weights uniform in [−1, 1] (`samples` of them, from a fixed internal stream, so a
 * deterministic function of device and t; cached) programmed as the profile maps them and
 * read at t: rms error without and with global drift compensation.
 */
export function weightPopulation(device: DeviceModel, t: number, samples = 65536): WeightPopulation {
  let cache = populations.get(device);
  if (!cache) populations.set(device, (cache = new Map()));
  const key = `${t}/${samples}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const rng = new RandomStream(`weightPopulation/${device.name}/${samples}`);
  const wT = uniformWeights(rng.child('w'), samples);
  const pw = programWeights(device, wT, rng.child('program'));
  const wt = weightsAt(device, pw, t, rng.child('read', t));
  const w0 = weightsAt(device, pw, 0, rng.child('read', 0), { atReference: true });
  const [m0, mt] = tf.tidy(() => tf.stack([tf.mean(tf.abs(w0)), tf.mean(tf.abs(wt))]).dataSync());
  const c = driftCompensationFactor(m0!, mt!);
  const [rms, rmsC] = tf.tidy(() => {
    const rmsOf = (w: tf.Tensor) => tf.sqrt(tf.mean(tf.square(tf.sub(w, wT))));
    return tf.stack([rmsOf(wt), rmsOf(tf.mul(wt, c))]).dataSync();
  }) as unknown as [number, number];
  wt.dispose();
  w0.dispose();
  pw.dispose();
  wT.dispose();
  const out = { rms, rmsCompensated: rmsC, gdc: c };
  cache.set(key, out);
  return out;
}

/**
 * Effective std of programmed-and-drifted weights relative to max|W| at t seconds
 * (dimensionless), with global drift compensation when enabled (default: the profile's setting).
 */
export function relativeWeightNoise(device: DeviceModel, t: number, opts: { compensate?: boolean; samples?: number } = {}): number {
  const pop = weightPopulation(device, t, opts.samples);
  return (opts.compensate ?? device.driftCompensation) ? pop.rmsCompensated : pop.rms;
}
