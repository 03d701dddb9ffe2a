/** convertToAnalog: a tf.LayersModel's dense layers on tiles — inference at t, hardware-aware fit, layer selection. */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { convertToAnalog, im2col } from '../../src/convert/convert.js';
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
      /layer 'drop' is a Dropout; Dense, Conv1D and Conv2D layers convert/,
    );
  });
});

describe('convolutions on tiles (im2col)', () => {
  for (const [padding, s] of [
    ['valid', 1],
    ['same', 1],
    ['same', 2],
    ['valid', 2],
  ] as const) {
    it(`patches × the flattened kernel equal tf.conv2d (${padding}, stride ${s})`, () => {
      const rng = new RandomStream(`im2col/${padding}/${s}`);
      const x = tf.tensor4d(rng.child('x').normal(2 * 7 * 6 * 3), [2, 7, 6, 3]);
      const k = tf.tensor4d(rng.child('k').normal(3 * 2 * 3 * 4), [3, 2, 3, 4]);
      const ref = tf.conv2d(x, k, [s, s], padding);
      const p = im2col(x, 3, 2, s, s, padding);
      const got = tf.reshape(tf.matMul(tf.reshape(p, [-1, 18]), tf.reshape(k, [18, 4])), ref.shape);
      expect(got.shape).toEqual(ref.shape);
      expect(relErr(got, ref)).toBeLessThan(1e-5);
    });
  }

  it('a small CNN (Conv2D, pooling, Dense) on the ideal device computes its digital self within the converters; HWA fit trains the conv kernel', async () => {
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: 'conv',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    );
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 2, name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
    const xs = tf.tensor4d(new RandomStream('cnn/x').normal(16 * 64), [16, 8, 8, 1]);
    const digital = m.predict(xs) as tf.Tensor;
    const a = convertToAnalog(m, 'ideal', { seed: 'cnn' });
    expect(a.summary().map((l) => [l.name, l.kind, l.inFeatures, l.outFeatures])).toEqual([
      ['conv', 'conv2d', 9, 4],
      ['fc', 'dense', 64, 2],
    ]);
    a.program(0);
    a.readAt(1);
    const e = relErr(m.predict(xs) as tf.Tensor, digital);
    expect(e).toBeGreaterThan(0);
    expect(e).toBeLessThan(0.03);
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: [] });
    const before = (m.getLayer('conv').getWeights()[0]!.dataSync() as Float32Array).slice();
    a.hardwareAware({ t: 3600 });
    await m.fit(
      xs,
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 2),
        'float32',
      ),
      { epochs: 2, batchSize: 8, verbose: 0 },
    );
    expect(
      m
        .getLayer('conv')
        .getWeights()[0]!
        .dataSync()
        .some((v, k) => v !== before[k]),
    ).toBe(true);
    a.dispose();
  });

  it('the patches carry gradients (strided too): HWA fit reaches the input of a strided convolution', () => {
    const x = tf.variable(tf.tensor4d(new RandomStream('im2col/grad').normal(1 * 6 * 6 * 2), [1, 6, 6, 2]));
    for (const s of [1, 2]) {
      const g = tf.grad((v: tf.Tensor) => tf.sum(im2col(v as tf.Tensor4D, 3, 3, s, s, 'same')))(x);
      const ref = tf.grad((v: tf.Tensor) => tf.sum(tf.conv2d(v as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, s, 'same')))(x);
      // Σ of all patches = conv with an all-ones kernel: the same gradient.
      expect(relErr(g, ref)).toBeLessThan(1e-5);
    }
  });

  it('Conv1D converts; dilated convolutions are refused, naming the layer', () => {
    const m = tf.sequential({ layers: [tf.layers.conv1d({ inputShape: [10, 2], filters: 3, kernelSize: 3, strides: 2, name: 'c1' })] });
    const xs = tf.tensor3d(new RandomStream('c1/x').normal(4 * 20), [4, 10, 2]);
    const digital = m.predict(xs) as tf.Tensor;
    const a = convertToAnalog(m, 'ideal');
    a.program(0);
    a.readAt(1);
    const got = m.predict(xs) as tf.Tensor;
    expect(got.shape).toEqual(digital.shape);
    expect(relErr(got, digital)).toBeLessThan(0.03);
    a.dispose();
    const dil = tf.sequential({
      layers: [tf.layers.conv1d({ inputShape: [10, 2], filters: 3, kernelSize: 3, dilationRate: 2, name: 'dil' })],
    });
    expect(() => convertToAnalog(dil, 'ideal')).toThrow(/layer 'dil': only channelsLast convolutions without dilation convert/);
  });
});
