/**
 * A model's analog sites on programmed crossbars: the effective weights (base + merged adapter
 * updates) are mapped and programmed once, then read at any time t from the same devices —
 * as a real chip drifts — and every analog site computes through its tiles' periphery.
 * Digital adapter hooks (before/after, bias updates) keep running around the analog MVM.
 */
import * as tf from '@tensorflow/tfjs';
import { withContext } from '../input/finite.js';
import type { DeviceModel } from '../device/model.js';
import type { LinearSite } from '../model/linear.js';
import { TiledMatrix, type AnalogMatrix, type ProgrammedMatrix } from '../crossbar/analog-matrix.js';
import type { RandomStream } from '../tensor/random.js';
import { engineMemoryLimit } from '../tensor/backend.js';

/** W + Σ merged weight updates of a site: what gets programmed. */
export function programmedWeight(site: LinearSite): tf.Tensor2D {
  return tf.tidy(() => {
    let W: tf.Tensor2D = site.weight as tf.Tensor2D;
    for (const h of site.hooks) if (h.weightDelta) W = tf.add(W, h.weightDelta()) as tf.Tensor2D;
    return tf.clone(W);
  });
}

/** How a trial's chip keeps its devices: all sites at once, or re-programmed site by site at each read. */
export type ChipStorage = 'hold' | 'stream';

/** Bytes of float32 device state (programmed conductance, drift exponent, target) a chip of `sites` holds on `device`. */
export function deviceStateBytes(sites: LinearSite[], device: DeviceModel): number {
  const perWeight = (device.profile.mapping.scheme === 'differential' ? 2 : 1) * (device.profile.mapping.slices?.count ?? 1);
  return sites.reduce((a, s) => a + s.weight.size, 0) * perWeight * 3 * 4;
}

/**
 * 'stream' when holding every site's devices would take more than a quarter of what the
 * engine can hold (the rest is the model, the reads and the evaluation), else 'hold'.
 */
export function chipStorageFor(sites: LinearSite[], device: DeviceModel): ChipStorage {
  return deviceStateBytes(sites, device) > engineMemoryLimit().bytes / 4 ? 'stream' : 'hold';
}

export class ProgrammedModel {
  private current: AnalogMatrix[] = [];

  private constructor(
    readonly sites: LinearSite[],
    private readonly device: DeviceModel,
    private readonly rng: RandomStream,
    /** Held chips only: every site's devices. */
    private readonly programmed: ProgrammedMatrix[] | null,
    private readonly tiled: TiledMatrix[],
  ) {}

  /**
   * Program every site's effective weights on `device` (one trial's chip). A streamed chip
   * keeps no devices: each read programs a site from the same named streams (so the same
   * devices, bit for bit), reads it and frees its devices before the next site — one site's
   * devices in memory instead of the model's, for the price of programming at every read.
   */
  static program(
    sites: LinearSite[],
    device: DeviceModel,
    rng: RandomStream,
    storage: ChipStorage = chipStorageFor(sites, device),
    onSite?: (done: number, total: number) => void,
  ): ProgrammedModel {
    if (storage === 'stream') return new ProgrammedModel(sites, device, rng, null, []);
    const tiled: TiledMatrix[] = [];
    const programmed: ProgrammedMatrix[] = [];
    for (const s of sites) {
      const { t, p } = ProgrammedModel.programSite(s, device, rng);
      tiled.push(t);
      programmed.push(p);
      onSite?.(programmed.length, sites.length);
    }
    return new ProgrammedModel(sites, device, rng, programmed, tiled);
  }

  private static programSite(s: LinearSite, device: DeviceModel, rng: RandomStream): { t: TiledMatrix; p: ProgrammedMatrix } {
    const W = programmedWeight(s);
    const t = TiledMatrix.map(W, device);
    W.dispose();
    try {
      const p = withContext(`site ${s.name}`, () => t.program(rng.child(s.name, 'program')));
      // The normalized copy of W is only needed to program; the periphery needs the scales.
      t.releaseBlocks();
      return { t, p };
    } catch (e) {
      t.dispose();
      throw e;
    }
  }

  /** Whether the device calibrates its ADC ranges at programming (then call `calibrate` before reading). */
  get calibratesAdc(): boolean {
    return !!this.device.periphery.adc.calibration;
  }

  /**
   * Calibrate every ADC's range (periphery.adc.calibration): `run` evaluates calibration
   * examples with the sites digital while each site's inputs go through its freshly programmed
   * arrays (`ProgrammedMatrix.observeForAdc`); the ranges are then fixed for every read.
   */
  calibrate(run: () => void): void {
    if (!this.programmed) {
      throw new Error(
        `${this.device.name}: ADC range calibration needs the chip's devices in memory, and this model's are streamed ` +
          `site by site (too large to hold); use a profile without periphery.adc.calibration for this model`,
      );
    }
    const rng = this.rng.child('adc-calibration');
    this.sites.forEach((s, i) => {
      const p = this.programmed![i]!;
      s.executor = (x, W) => {
        p.observeForAdc(x, rng.child(s.name));
        return tf.matMul(x, W) as tf.Tensor2D;
      };
    });
    try {
      run();
    } finally {
      for (const s of this.sites) s.executor = null;
    }
    this.programmed.forEach((p, i) => withContext(`site ${this.sites[i]!.name}`, () => p.finishAdcCalibration()));
  }

  /** How this chip keeps its devices. */
  get storage(): ChipStorage {
    return this.programmed ? 'hold' : 'stream';
  }

  /**
   * Read the devices at t seconds and route the sites through them; MVM noise draws from
   * `rng`/site/call-index, so an evaluation is reproducible call by call.
   */
  readAt(t: number, rng: RandomStream, opts: { compensate?: boolean } = {}, onSite?: (done: number, total: number) => void): void {
    this.releaseReads();
    this.current = [];
    for (const [i, site] of this.sites.entries()) {
      const name = site.name;
      if (this.programmed) {
        this.current.push(withContext(`site ${name}`, () => this.programmed![i]!.at(t, rng.child(name, 'read'), opts)));
      } else {
        const { t: tiled, p } = ProgrammedModel.programSite(site, this.device, this.rng);
        try {
          this.current.push(withContext(`site ${name}`, () => p.at(t, rng.child(name, 'read'), opts)));
        } catch (e) {
          tiled.dispose();
          throw e;
        } finally {
          p.dispose();
        }
        this.tiled.push(tiled);
      }
      onSite?.(i + 1, this.sites.length);
    }
    this.sites.forEach((s, i) => {
      const analog = this.current[i]!;
      let call = 0;
      s.mode = 'analog';
      // The effective weights were programmed; the W the site passes in is not used.
      s.executor = (x) => analog.forward(x, rng.child(s.name, 'mvm', call++));
    });
  }

  /** The weights each site computes with at the current read (scales and compensation applied), for inspection. */
  effectiveWeights(): tf.Tensor2D[] {
    return this.current.map((a) => a.effectiveWeights());
  }

  /** Drift-compensation factors of the current read, per site (1 when off; the mean factor when per column). */
  gdcFactors(): number[] {
    return this.current.map((a) => a.meanGdc());
  }

  private releaseReads(): void {
    this.current.forEach((a) => a.dispose());
    this.current = [];
    // A streamed chip's tilings belong to its reads.
    if (!this.programmed) this.tiled.splice(0).forEach((t) => t.dispose());
  }

  /** Sites back to digital; devices freed. */
  dispose(): void {
    this.releaseReads();
    for (const s of this.sites) {
      s.mode = 'digital';
      s.executor = null;
    }
    this.programmed?.forEach((p) => p.dispose());
    this.tiled.forEach((t) => t.dispose());
  }
}
