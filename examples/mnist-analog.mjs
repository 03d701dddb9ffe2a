/**
 * The aihwkit tutorial flow in TypeScript-free JavaScript: a network trained on MNIST, then
 * put on PCM crossbar tiles with `convertToAnalog` and read 1 s, 1 day and 1 year after
 * programming (several chips), without and with hardware-aware (HWA) fine-tuning.
 *
 *   node examples/mnist-analog.mjs [cnn|mlp] [--device NAME] [--noise-scale K] [--quick] [--json]
 *
 * --device: a built-in profile name or a profile file (default pcm-nandakumar-2019).
 * --noise-scale: programming and read noise × K (a harsher chip, as `aimc deploy --noise-scale`).
 * --quick: one epoch, 2 chips, 1 000 training and 300 test images — what the tests run.
 */
import * as tf from '@tensorflow/tfjs';
import { convertToAnalog, initBackend, loadProfile, withNoiseScale } from 'aimc';
import { accuracy, mnistSplits } from './mnist-data.mjs';

const arch = process.argv.includes('mlp') ? 'mlp' : 'cnn';
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
/** @param {string} name @param {string} fallback @returns {string} */
const flag = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
};
const noiseScale = Number(flag('--noise-scale', '1'));
const device = withNoiseScale(loadProfile(flag('--device', 'pcm-nandakumar-2019')), noiseScale);
const times = [1, 86400, 31536000];
const trials = quick ? 2 : 3;
const epochs = quick ? 1 : 3;

await initBackend();
const { train, test } = mnistSplits(quick ? { train: 1000, test: 300 } : { train: 8000, test: 2000 });

function build() {
  /** @param {number} seed */
  const init = (seed) => tf.initializers.glorotUniform({ seed });
  const m = tf.sequential();
  if (arch === 'mlp') {
    m.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu', kernelInitializer: init(1) }));
  } else {
    m.add(tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }));
    m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }));
  m.compile({ optimizer: tf.train.adam(3e-3), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

/**
 * Accuracy on the test images at each time, over `trials` chips.
 * @param {tf.LayersModel} model
 * @param {string} seed
 * @returns {{ digital: number, at: Record<number, number[]> }}
 */
function onChips(model, seed) {
  const digital = accuracy(model, test.xs, test.ys);
  const analog = convertToAnalog(model, device, { seed });
  /** @type {Record<number, number[]>} */
  const at = Object.fromEntries(times.map((t) => [t, []]));
  for (let trial = 0; trial < trials; trial++) {
    analog.program(trial);
    for (const t of times) {
      analog.readAt(t);
      at[t]?.push(accuracy(model, test.xs, test.ys));
    }
  }
  analog.dispose();
  return { digital, at };
}

/** @param {tf.Sequential} m @param {number} n */
const fit = (m, n) => m.fit(train.xs, train.ys, { epochs: n, batchSize: 64, shuffle: false, verbose: 0 });

// Trained digitally; after `epochs` a copy goes on to one epoch of HWA training (forward
// passes through the device at 1 d), the original to one more digital epoch, so both have
// seen the same data the same number of times.
const plain = build();
await fit(plain, epochs);
const hwa = build();
hwa.setWeights(plain.getWeights());
await fit(plain, 1);
const without = onChips(plain, 'mnist');

const handle = convertToAnalog(hwa, device, { seed: 'mnist-hwa' });
handle.hardwareAware({ t: 86400 });
await fit(hwa, 1);
handle.dispose();
const withHwa = onChips(hwa, 'mnist');

/** @param {number[]} v */
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
/** @param {number[]} v */
const sd = (v) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / Math.max(v.length - 1, 1));
if (json) {
  console.log(JSON.stringify({ arch, device: device.name, trials, without, withHwa }));
} else {
  /** @param {{ digital: number, at: Record<number, number[]> }} r @param {number | null} t */
  const fmt = (r, t) => (t === null ? r.digital.toFixed(4) : `${mean(r.at[t] ?? []).toFixed(4)} ± ${sd(r.at[t] ?? []).toFixed(4)}`);
  console.log(`${arch} on MNIST (${train.ys.shape[0]} train, ${test.ys.shape[0]} test images), ${device.name}, ${trials} chips`);
  console.log('| read | without HWA | with HWA |\n| --- | --- | --- |');
  /** @type {[string, number | null][]} */
  const rows = [['digital', null], ['1 s', 1], ['1 d', 86400], ['1 y', 31536000]];
  for (const [label, t] of rows) console.log(`| ${label} | ${fmt(without, t)} | ${fmt(withHwa, t)} |`);
}
