/**
 * Hardware-aware training path: the forward pass runs on weights programmed and drifted by
 * the device model (and, optionally, through the full tile periphery); the backward pass is
 * the ideal linear layer's gradient on the effective weights — straight-through for weight
 * noise, DAC/ADC quantizers and bounds — as in aihwkit's hardware-aware training.
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceModel } from '../device/model.js';
import { RandomStream } from '../tensor/random.js';
import { matMulT } from '../tensor/matmul-grad.js';
import { TiledMatrix } from './analog-matrix.js';

export interface HwaOptions {
  /** Seconds after programming at which the weights are sampled. */
  t: number;
  /** Run the tile periphery (DAC, output noise, bounds, ADC) in the forward pass; default true. */
  periphery?: boolean;
}

/** y = x·W with device-sampled weights (and periphery) forward, ideal gradient backward. */
export function hwaLinear(x: tf.Tensor2D, W: tf.Tensor2D, device: DeviceModel, rng: RandomStream, opts: HwaOptions): tf.Tensor2D {
  const f = tf.customGrad(((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const x2 = xIn as tf.Tensor2D;
    const tiled = TiledMatrix.map(wIn as tf.Tensor2D, device);
    const programmed = tiled.program(rng.child('program'));
    const at = programmed.at(opts.t, rng.child('read'));
    const Weff = at.effectiveWeights();
    const y = opts.periphery === false ? (tf.matMul(x2, Weff) as tf.Tensor2D) : at.forward(x2, rng.child('mvm'));
    at.dispose();
    programmed.dispose();
    tiled.dispose();
    save([x2, Weff]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        return [matMulT(g, ws, false, true), matMulT(xs, g, true, false)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, W) as tf.Tensor2D;
}
