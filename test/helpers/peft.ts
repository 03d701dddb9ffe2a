/** Shared by the plugin tests. */
import * as tf from '@tensorflow/tfjs';
import type { AttachedAdapter } from '../../src/peft/host.js';
import { RandomStream } from '../../src/tensor/random.js';

/** Give every adapter variable a random value so merged/digital and save/load are not compared at the identity. */
export function perturb(a: AttachedAdapter, seed: string): void {
  const rng = new RandomStream(seed);
  a.adapter.trainableVariables().forEach((v, i) => {
    const noise = tf.tensor(rng.child(i).normal(new Float32Array(v.size)), v.shape);
    v.assign(tf.add(v, tf.mul(noise, 0.5)));
    noise.dispose();
  });
}
