/**
 * Monte Carlo statistics of a device profile: what `aimc device show` prints and what the
 * tests compare with closed forms.
 */
import * as tf from '@tensorflow/tfjs';
import { NonFiniteError } from '../input/finite.js';
import type { DeviceModel } from '../device/model.js';
import { programWeights, weightPopulation, weightsAt } from './mapping.js';
import { RandomStream } from '../tensor/random.js';

export interface ConductanceStat {
  /** Target as a fraction of gMax. */
  gRel: number;
  /** Seconds after programming. */
  t: number;
  /** Target conductance, µS. */
  gTarget: number;
  /** Programming-noise std at the target, µS. */
  progStd: number;
  /** Mean and std of one device's conductance at t over the samples, µS (no compensation). */
  gMean: number;
  gStd: number;
  /** RMS error of a weight w = gRel (normalized to max|W| = 1) read through the mapping at t. */
  weightError: number;
  /** Same with the global drift-compensation factor a layer of uniform weights would apply. */
  weightErrorCompensated: number;
}

/** Statistics of `samples` devices programmed to each gRel·gMax and read at each time. */
export function conductanceStats(
  dev: DeviceModel,
  gRels: number[],
  times: number[],
  samples: number,
  seed = 'device-stats',
): ConductanceStat[] {
  const rows: ConductanceStat[] = [];
  for (const gRel of gRels) {
    const rng = new RandomStream(`${seed}/${dev.name}/g${gRel}`);
    const gT = Math.min(Math.max(gRel * dev.gMax, dev.gMin), dev.gMax);
    const target = tf.fill([samples], gT);
    const programmed = dev.program(target, rng.child('device'));
    const w = tf.fill([samples], gRel);
    const pw = programWeights(dev, w, rng.child('weights'));
    for (const t of times) {
      const [gMean, gStd, err, errC] = tf.tidy(() => {
        const g = dev.conductanceAt(programmed, t, rng.child('read', t));
        const { mean, variance } = tf.moments(g);
        const wt = weightsAt(dev, pw, t, rng.child('wread', t));
        const c = weightPopulation(dev, t).gdc;
        const rmsOf = (x: tf.Tensor) => tf.sqrt(tf.mean(tf.square(tf.sub(x, gRel))));
        // Sample std (n-1) so small --samples stay unbiased.
        const std = tf.sqrt(tf.mul(variance, samples / Math.max(samples - 1, 1)));
        return tf.stack([mean, std, rmsOf(wt), rmsOf(tf.mul(wt, c))]).dataSync();
      }) as unknown as [number, number, number, number];
      const row = { gRel, t, gTarget: gT, progStd: dev.programNoiseStdAt(gT), gMean, gStd, weightError: err, weightErrorCompensated: errC };
      for (const [k, v] of Object.entries(row))
        if (!Number.isFinite(v))
          throw new NonFiniteError(
            [`g = ${gRel}·gMax, t = ${t} s`, `device ${dev.name}`],
            `${k} is ${v} — the profile's physics produces NaN or infinity for conductances this device reaches`,
          );
      rows.push(row);
    }
    programmed.dispose();
    pw.dispose();
    target.dispose();
    w.dispose();
  }
  return rows;
}
