/**
 * aimc's side of ../shared/bench/torch_reference.py: the same workloads with the same
 * definitions, run through aimc's own code paths (sampler, DeviceModel, AnalogMatrix).
 */
import * as tf from '@tensorflow/tfjs';
import { RandomStream } from '../src/tensor/random.js';
import { DeviceModel } from '../src/device/model.js';
import { normalTensor } from '../src/tensor/kernels/index.js';
import { loadProfile } from '../src/device/profile.js';
import { TiledMatrix } from '../src/crossbar/analog-matrix.js';
import { trainStep } from './encoder.js';
import { BASE, baseAnalogForward, basePeftStep } from './base.js';

export interface Workload {
  name: string;
  unit: string;
  /** Work items per call (samples, conductances, rows). */
  items: number;
  /** Calls per timed run (as the reference's repetitions). */
  reps: number;
  /** Untimed warm-up calls (3 unless set) and timed runs (the median is quoted; RUNS unless set). */
  warm?: number;
  runs?: number;
  setup(): { run(): void; dispose(): void };
}

/** A RoBERTa-base-size workload, timed as the reference times it: 1 warm-up, one run of 3 calls, tokens/s. */
function atBaseSize(name: string, setup: Workload['setup']): Workload {
  return { name, unit: 'tokens/s', items: BASE.B * BASE.T, reps: 3, warm: 1, runs: 1, setup };
}

export const WORKLOADS: Workload[] = [
  {
    name: 'normals',
    unit: 'samples/s',
    items: 4 * 1024 * 1024,
    reps: 10,
    setup() {
      const rng = new RandomStream('bench/normals');
      return {
        // Draw into a tensor, as every noise site does.
        run: () => normalTensor(rng, [4 * 1024 * 1024]).dispose(),
        dispose: () => undefined,
      };
    },
  },
  {
    name: 'pcm-program',
    unit: 'conductances/s',
    items: 1024 * 1024,
    reps: 10,
    setup() {
      const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
      const rng = new RandomStream('bench/pcm');
      const gT = tf.tidy(() => tf.mul(tf.tensor1d(rng.child('targets').uniform(new Float32Array(1024 * 1024))), dev.gMax));
      let i = 0;
      return {
        run: () => {
          const r = rng.child(i++);
          const p = dev.program(gT, r);
          dev.conductanceAt(p, 3600, r).dispose();
          p.dispose();
        },
        dispose: () => gT.dispose(),
      };
    },
  },
  {
    name: 'tile-forward',
    unit: 'rows/s',
    items: 64,
    reps: 30,
    setup() {
      // The reference's tile: exact weights (no device noise), 512x512 tiles, abs-max
      // input scaling, DAC 1/(2^7-2), output noise 0.06, bound 12 (clip only), ADC 1/(2^9-2).
      const base = loadProfile('ideal');
      const dev = new DeviceModel({
        ...base,
        name: 'bench-tile',
        tile: { rows: 512, cols: 512 },
        periphery: { ...base.periphery, outputNoise: 0.06, boundManagement: 'none' },
      });
      const rng = new RandomStream('bench/tile');
      const W = tf.tidy(() => tf.mul(normalTensor(rng.child('W'), [1024, 1024]), 0.05)) as tf.Tensor2D;
      const x = normalTensor(rng.child('x'), [64, 1024]) as tf.Tensor2D;
      const tiled = TiledMatrix.map(W, dev);
      const programmed = tiled.program(rng.child('program'));
      const am = programmed.at(0, rng.child('read'));
      let i = 0;
      return {
        run: () => am.forward(x, rng.child('mvm', i++)).dispose(),
        dispose: () => {
          am.dispose();
          programmed.dispose();
          tiled.dispose();
          W.dispose();
          x.dispose();
        },
      };
    },
  },
  {
    name: 'train-step',
    unit: 'tokens/s',
    items: 16 * 64,
    reps: 10,
    setup: () => trainStep({ B: 16, T: 64, D: 128, H: 4, FF: 512, L: 4, classes: 2 }, 'bench/train'),
  },
  atBaseSize('base-peft-step', () => basePeftStep('bench/base-peft')),
  atBaseSize('base-analog-forward', () => baseAnalogForward('bench/base-analog')),
];
