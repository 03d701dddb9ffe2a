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

/** W + Σ merged weight updates of a site: what gets programmed. */
export function programmedWeight(site: LinearSite): tf.Tensor2D {
  return tf.tidy(() => {
    let W: tf.Tensor2D = site.weight as tf.Tensor2D;
    for (const h of site.hooks) if (h.weightDelta) W = tf.add(W, h.weightDelta()) as tf.Tensor2D;
    return tf.clone(W);
  });
}

export class ProgrammedModel {
  private current: AnalogMatrix[] = [];

  private constructor(
    readonly sites: LinearSite[],
    private readonly programmed: ProgrammedMatrix[],
    private readonly tiled: TiledMatrix[],
  ) {}

  /** Program every site's effective weights on `device` (one trial's chip). */
  static program(sites: LinearSite[], device: DeviceModel, rng: RandomStream): ProgrammedModel {
    const tiled: TiledMatrix[] = [];
    const programmed: ProgrammedMatrix[] = [];
    for (const s of sites) {
      const W = programmedWeight(s);
      const t = TiledMatrix.map(W, device);
      W.dispose();
      tiled.push(t);
      programmed.push(withContext(`site ${s.name}`, () => t.program(rng.child(s.name, 'program'))));
    }
    return new ProgrammedModel(sites, programmed, tiled);
  }

  /**
   * Read the devices at t seconds and route the sites through them; MVM noise draws from
   * `rng`/site/call-index, so an evaluation is reproducible call by call.
   */
  readAt(t: number, rng: RandomStream, opts: { compensate?: boolean } = {}): void {
    this.releaseReads();
    this.current = [];
    for (const [i, p] of this.programmed.entries()) {
      const name = this.sites[i]!.name;
      this.current.push(withContext(`site ${name}`, () => p.at(t, rng.child(name, 'read'), opts)));
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

  /** Drift-compensation factors of the current read, per site (1 when off). */
  gdcFactors(): number[] {
    return this.current.map((a) => a.gdc);
  }

  private releaseReads(): void {
    this.current.forEach((a) => a.dispose());
    this.current = [];
  }

  /** Sites back to digital; devices freed. */
  dispose(): void {
    this.releaseReads();
    for (const s of this.sites) {
      s.mode = 'digital';
      s.executor = null;
    }
    this.programmed.forEach((p) => p.dispose());
    this.tiled.forEach((t) => t.dispose());
  }
}
