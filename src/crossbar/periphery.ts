/**
 * Periphery of a tile: DAC on the inputs, ADC on the outputs, output noise, and the
 * straight-through versions used by hardware-aware training.
 *
 * Resolution follows aihwkit's convention: `bits` b gives a step of 1/(2^b − 2) of the
 * bound, i.e. 2^b − 1 levels symmetric about zero.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConverterSpec } from '../device/types.js';

/** Quantization step of a converter in the units of its signal (bound · 1/(2^bits − 2)); 0 = none. */
export function converterStep(c: ConverterSpec): number {
  return c.bits === null ? 0 : c.bound / (2 ** c.bits - 2);
}

/** round(x/step)·step, or x when step is 0. */
export function quantize(x: tf.Tensor, step: number): tf.Tensor {
  if (step <= 0) return x.clone();
  return tf.tidy(() => tf.mul(tf.round(tf.div(x, step)), step));
}

/** Clip to ±bound then quantize: what a converter does to a signal. */
export function convert(x: tf.Tensor, c: ConverterSpec): tf.Tensor {
  return tf.tidy(() => quantize(tf.clipByValue(x, -c.bound, c.bound), converterStep(c)));
}

/** Round with an identity gradient (straight-through estimator). */
export const roundSTE = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.round(x),
  gradFunc: (dy: tf.Tensor) => dy,
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Converter for training: clip (zero gradient outside the bound) then round with STE. */
export function convertSTE(x: tf.Tensor, c: ConverterSpec): tf.Tensor {
  return tf.tidy(() => {
    const clipped = tf.clipByValue(x, -c.bound, c.bound);
    const step = converterStep(c);
    return step > 0 ? tf.mul(roundSTE(tf.div(clipped, step)), step) : clipped;
  });
}
