/** convertToAnalog: a tf.LayersModel's dense layers on tiles — inference at t, hardware-aware fit, layer selection. */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { convertToAnalog } from '../../src/convert/convert.js';
import { RandomStream } from '../../src/tensor/random.js';

beforeAll(async () => {
  await initBackend();
});

/** A 2-layer MLP on 20 inputs, 3 classes, deterministic weights. */
function mlp(): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.dense({
      inputShape: [20],
      units: 32,
      activation: 'relu',
      name: 'hidden',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(tf.layers.dense({ units: 3, name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

const relErr = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0]! / tf.norm(b).dataSync()[0]!);

describe('convertToAnalog', () => {
  const x = () => tf.tensor2d(new RandomStream('convert/x').normal(64 * 20), [64, 20]);

  it('lists what went to tiles; on the ideal device the analog model computes the digital one within the converters', () => {
    const m = mlp();
    const xs = x();
    const digital = m.predict(xs) as tf.Tensor;
    const a = convertToAnalog(m, 'ideal', { seed: 's' });
    expect(a.summary().map((l) => [l.name, l.inFeatures, l.outFeatures])).toEqual([
      ['hidden', 20, 32],
      ['out', 32, 3],
    ]);
    expect(a.describe()).toMatch(/2 of 2 layers on/);
    a.program(0);
    a.readAt(1);
    const analog = m.predict(xs) as tf.Tensor;
    const e = relErr(analog, digital);
    expect(e).toBeGreaterThan(0); // the DAC/ADC quantize
    expect(e).toBeLessThan(0.02);
    a.digital();
    expect(relErr(m.predict(xs) as tf.Tensor, digital)).toBe(0);
    a.dispose();
  });

  it('on PCM: outputs drift away with time, the same chip and seed give the same bits, another trial another chip', () => {
    const m = mlp();
    const xs = x();
    const digital = m.predict(xs) as tf.Tensor;
    const a = convertToAnalog(m, 'pcm-nandakumar-2019', { seed: 's' });
    const at = (trial: number, t: number, compensate = false) => {
      a.program(trial);
      a.readAt(t, { compensate });
      return m.predict(xs) as tf.Tensor;
    };
    const early = at(0, 1);
    const late = at(0, 31536000);
    expect(relErr(late, digital)).toBeGreaterThan(relErr(early, digital));
    expect(Array.from(at(0, 1).dataSync())).toEqual(Array.from(early.dataSync()));
    expect(Array.from(at(1, 1).dataSync())).not.toEqual(Array.from(early.dataSync()));
    a.dispose();
  });

  it("hardware-aware training with the model's own fit: weights learn, loss finite; predict stays digital in that mode", async () => {
    const m = mlp();
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    const xs = x();
    const ys = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => i % 3),
      'float32',
    );
    const a = convertToAnalog(m, 'pcm-nandakumar-2019', { seed: 'hwa' });
    a.hardwareAware({ t: 86400 });
    const before = (m.getLayer('hidden').getWeights()[0]!.dataSync() as Float32Array).slice();
    const digital = m.predict(xs) as tf.Tensor;
    const h = await m.fit(xs, ys, { epochs: 3, batchSize: 16, verbose: 0 });
    const losses = h.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    const after = m.getLayer('hidden').getWeights()[0]!.dataSync();
    expect(after.some((v, k) => v !== before[k])).toBe(true);
    // predict() in hwa mode is the digital computation of the (trained) weights.
    a.digital();
    const d2 = m.predict(xs) as tf.Tensor;
    a.hardwareAware({ t: 86400 });
    expect(relErr(m.predict(xs) as tf.Tensor, d2)).toBe(0);
    expect(relErr(d2, digital)).toBeGreaterThan(0);
    a.dispose();
  });

  it('converts only the layers asked for; an unknown name or a non-dense layer is refused, naming it', () => {
    const m = mlp();
    const a = convertToAnalog(m, 'ideal', { layers: ['out'] });
    expect(a.summary().map((l) => l.name)).toEqual(['out']);
    expect(a.describe()).toMatch(/hidden\s+Dense\s+digital/);
    a.dispose();
    expect(() => convertToAnalog(mlp(), 'ideal', { layers: ['nope'] })).toThrow(/no layer named 'nope' \(layers: hidden, out\)/);
    const withDrop = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 4, name: 'd' }), tf.layers.dropout({ rate: 0.1, name: 'drop' })],
    });
    expect(() => convertToAnalog(withDrop, 'ideal', { layers: ['drop'] })).toThrow(
      /layer 'drop' is a Dropout; only Dense layers convert so far/,
    );
  });
});
