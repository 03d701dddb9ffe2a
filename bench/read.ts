/**
 * The deployment read path that the run-time finiteness checks sit on: reading a programmed
 * PCM matrix at a time (drift + read noise; the check is one reduction over the conductances,
 * shared with drift compensation) followed by the analog MVMs of an evaluation batch. Prints
 * {"workload","value","unit"} lines (median of 7 runs). `node dist/bench/read.js`
 */
import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../src/cli/common.js';
import { DeviceModel } from '../src/device/model.js';
import { loadProfile } from '../src/device/profile.js';
import { TiledMatrix } from '../src/crossbar/analog-matrix.js';
import { RandomStream } from '../src/tensor/random.js';
import { normalTensor } from '../src/tensor/kernels/index.js';

await startBackend(undefined, false);
const dev = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
const rng = new RandomStream('bench/read');
const W = tf.tidy(() => tf.mul(normalTensor(rng.child('W'), [1024, 1024]), 0.05)) as tf.Tensor2D;
const x = normalTensor(rng.child('x'), [64, 1024]) as tf.Tensor2D;
const tiled = TiledMatrix.map(W, dev);
const programmed = tiled.program(rng.child('program'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const compensate of [false, true]) {
  const reads: number[] = [];
  const evals: number[] = [];
  for (let run = 0; run < 9; run++) {
    const t0 = performance.now();
    const am = programmed.at(86400, rng.child('read', run), { compensate });
    const t1 = performance.now();
    for (let i = 0; i < 8; i++) am.forward(x, rng.child('mvm', run, i)).dispose();
    const t2 = performance.now();
    am.dispose();
    if (run >= 2) {
      reads.push(t1 - t0);
      evals.push(t2 - t0);
    }
  }
  const tag = compensate ? 'gdc' : 'no-gdc';
  console.log(JSON.stringify({ workload: `read-${tag}`, value: median(reads), unit: 'ms per read of 1M conductances' }));
  console.log(JSON.stringify({ workload: `read+8mvm-${tag}`, value: median(evals), unit: 'ms per read + 8 MVMs of x[64,1024]' }));
}
