/**
 * Hardware-aware training on a model: the analog sites compute with weights programmed and
 * drifted by a device model (fresh devices every step) and through the tile periphery, with
 * straight-through gradients (crossbar/hwa.ts). Merged adapter updates are part of the
 * programmed weights, so they are trained against the noise too; digital adapter branches
 * stay noiseless, as they would on a chip.
 */
import * as tf from '@tensorflow/tfjs';
import type { DeviceModel } from '../device/model.js';
import type { LinearSite } from '../model/linear.js';
import { hwaLinear } from '../crossbar/hwa.js';
import type { RandomStream } from '../tensor/random.js';

export interface HwaSetup {
  device: DeviceModel;
  /** Seconds after programming at which training samples the weights. */
  t: number;
  /** Simulate DAC/ADC/output noise/bounds too (default true). */
  periphery?: boolean;
}

/**
 * Installs HWA executors on the analog sites; `beginStep(rng)` draws new devices,
 * `beginStep(null)` computes digitally.
 */
export class HwaTraining {
  private rng: RandomStream | null = null;

  constructor(
    readonly sites: LinearSite[],
    readonly setup: HwaSetup,
  ) {
    for (const s of sites) {
      s.mode = 'hwa';
      s.executor = (x, W) => {
        if (!this.rng) return tf.matMul(x, W);
        return hwaLinear(x, W, setup.device, this.rng.child(s.name), { t: setup.t, periphery: setup.periphery ?? true });
      };
    }
  }

  beginStep(rng: RandomStream | null): void {
    this.rng = rng;
  }

  /** Back to plain digital sites. */
  remove(): void {
    for (const s of this.sites) {
      s.mode = 'digital';
      s.executor = null;
    }
  }
}
