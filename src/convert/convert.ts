/**
 * `convertToAnalog`: a user's TensorFlow.js model onto crossbar tiles, as aihwkit's
 * `convert_to_analog` does for PyTorch. Each converted layer keeps its own weights and
 * variables (the model still trains, saves and summarizes as before); what changes is how it
 * computes, chosen on the returned handle:
 *
 *   digital()              the layer's own computation (as before the conversion)
 *   program(trial)         this trial's chip: every converted layer's current weights mapped
 *                          and programmed once (named streams seed/trial-k/layer/…)
 *   readAt(t)              read the chip t s after programming: inference through the tiles'
 *                          full periphery (the analogTile kernel), no gradient
 *   hardwareAware({ t })   training: each forward pass of fit() samples the weights through
 *                          the device at t (and the periphery), straight-through gradients, so
 *                          the model's own fit() learns weights that survive the device
 *                          (predict and evaluate stay digital in this mode)
 *
 * Dense layers convert today (inputs of any rank: the last axis is the one multiplied).
 */
import * as tf from '@tensorflow/tfjs';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import type { DeviceProfile } from '../device/types.js';
import { TiledMatrix, type AnalogMatrix, type ProgrammedMatrix } from '../crossbar/analog-matrix.js';
import { hwaLinear, type HwaOptions } from '../crossbar/hwa.js';
import { tileGrid } from '../crossbar/tiling.js';
import { RandomStream } from '../tensor/random.js';

export type AnalogMode = 'digital' | 'analog' | 'hwa';

/** One converted layer, as `summary()` lists it. */
export interface ConvertedLayer {
  name: string;
  kind: 'dense';
  inFeatures: number;
  outFeatures: number;
  /** Row tiles × column tiles of the device's tile size. */
  tiles: [number, number];
}

export interface ConvertOptions {
  /** Which layers go to tiles: layer names, or a predicate (default: every dense layer). */
  layers?: string[] | ((layer: tf.layers.Layer) => boolean);
  /** Seed of every draw (programming, reads, MVM noise, HWA sampling); default 'convert'. */
  seed?: string;
}

/** What aimc reads of a tfjs Dense layer (its fields are private in the typings, public at run time). */
interface DenseInternals {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
  units: number;
}

interface Site {
  layer: tf.layers.Layer;
  info: ConvertedLayer;
  original: tf.layers.Layer['call'];
  programmed: { tiled: TiledMatrix; chip: ProgrammedMatrix } | null;
  read: AnalogMatrix | null;
  calls: number;
}

export class AnalogModel {
  private mode: AnalogMode = 'digital';
  private hwa: HwaOptions | null = null;
  private trialRng: RandomStream | null = null;
  private readRng: RandomStream | null = null;
  private hwaStep = 0;

  /** @internal use convertToAnalog */
  constructor(
    readonly model: tf.LayersModel,
    readonly device: DeviceModel,
    private readonly sites: Site[],
    private readonly rng: RandomStream,
  ) {
    for (const s of sites) s.layer.call = (inputs, kwargs) => this.call(s, inputs, kwargs);
  }

  /** How the converted layers compute now. */
  get computing(): AnalogMode {
    return this.mode;
  }

  /** The converted layers: name, size, tiles. */
  summary(): ConvertedLayer[] {
    return this.sites.map((s) => ({ ...s.info }));
  }

  /** `model.summary()`-style table of what went to tiles (and what stayed digital). */
  describe(): string {
    const onTiles = new Set(this.sites.map((s) => s.layer));
    const rows = this.model.layers.map((l) => {
      const s = this.sites.find((x) => x.layer === l);
      return s
        ? `${l.name.padEnd(24)} ${l.getClassName().padEnd(12)} analog   ${s.info.inFeatures}×${s.info.outFeatures} on ${s.info.tiles[0]}×${s.info.tiles[1]} tiles`
        : `${l.name.padEnd(24)} ${l.getClassName().padEnd(12)} digital`;
    });
    return [
      `${this.device.name}: ${onTiles.size} of ${this.model.layers.length} layers on ${this.device.tile.rows}×${this.device.tile.cols} tiles`,
      ...rows,
    ].join('\n');
  }

  /** Back to the layers' own (digital) computation. */
  digital(): void {
    this.mode = 'digital';
  }

  /** Program this trial's chip from the converted layers' current weights (replacing any earlier chip). */
  program(trial = 0): void {
    this.releaseChip();
    this.trialRng = this.rng.child('trial', trial);
    for (const s of this.sites) {
      const W = tf.tidy(() => this.dense(s).kernel.read().clone() as tf.Tensor2D);
      const tiled = TiledMatrix.map(W, this.device);
      W.dispose();
      const chip = tiled.program(this.trialRng.child(s.info.name, 'program'));
      tiled.releaseBlocks();
      s.programmed = { tiled, chip };
    }
  }

  /** Read the programmed chip t s after programming; the converted layers then compute on it. */
  readAt(t: number, opts: { compensate?: boolean } = {}): void {
    if (!this.trialRng || this.sites.some((s) => !s.programmed)) throw new Error('readAt: program() the chip first');
    this.releaseReads();
    this.readRng = this.trialRng.child('t', t);
    for (const s of this.sites) {
      s.read = s.programmed!.chip.at(t, this.readRng.child(s.info.name, 'read'), opts);
      s.calls = 0;
    }
    this.mode = 'analog';
  }

  /** Hardware-aware training: forward passes sample the weights through the device at `t` s (and its periphery). */
  hardwareAware(opts: HwaOptions): void {
    this.hwa = opts;
    this.mode = 'hwa';
  }

  /** Free the chip and its reads (the model and its weights stay). */
  dispose(): void {
    this.releaseChip();
    for (const s of this.sites) s.layer.call = s.original;
    this.mode = 'digital';
  }

  private releaseReads(): void {
    for (const s of this.sites) {
      s.read?.dispose();
      s.read = null;
    }
  }

  private releaseChip(): void {
    this.releaseReads();
    for (const s of this.sites) {
      s.programmed?.chip.dispose();
      s.programmed?.tiled.dispose();
      s.programmed = null;
    }
  }

  private dense(s: Site): DenseInternals {
    return s.layer as unknown as DenseInternals;
  }

  private call(s: Site, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    // Hardware-aware mode samples the device only while fit() trains; predict/evaluate stay digital.
    if (this.mode === 'digital' || (this.mode === 'hwa' && kwargs?.training !== true)) return s.original.call(s.layer, inputs, kwargs);
    const d = this.dense(s);
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const shape = x.shape;
      const x2 = tf.reshape(x, [-1, shape[shape.length - 1]!]) as tf.Tensor2D;
      let y: tf.Tensor2D;
      if (this.mode === 'analog') y = s.read!.forward(x2, this.readRng!.child(s.info.name, 'mvm', s.calls++));
      else y = hwaLinear(x2, d.kernel.read() as tf.Tensor2D, this.device, this.rng.child('hwa', this.hwaStep++, s.info.name), this.hwa!);
      let out: tf.Tensor = tf.reshape(y, [...shape.slice(0, -1), d.units]);
      if (d.bias) out = tf.add(out, d.bias.read());
      return d.activation ? d.activation.apply(out) : out;
    });
  }
}

/**
 * Put `model`'s dense layers (all, or those `options.layers` selects) on `device`'s crossbar
 * tiles; returns the handle that programs, reads and trains them (see the module comment).
 * The model is changed in place: its converted layers compute through the handle until
 * `dispose()`.
 */
export function convertToAnalog(
  model: tf.LayersModel,
  device: DeviceModel | DeviceProfile | string,
  options: ConvertOptions = {},
): AnalogModel {
  const dev = device instanceof DeviceModel ? device : new DeviceModel(typeof device === 'string' ? loadProfile(device) : device);
  const pick =
    typeof options.layers === 'function'
      ? options.layers
      : options.layers
        ? (() => {
            const names = new Set(options.layers as string[]);
            const known = new Set(model.layers.map((l) => l.name));
            const missing = [...names].filter((n) => !known.has(n));
            if (missing.length)
              throw new Error(
                `convertToAnalog: no layer named ${missing.map((n) => `'${n}'`).join(', ')} (layers: ${[...known].join(', ')})`,
              );
            return (l: tf.layers.Layer) => names.has(l.name);
          })()
        : () => true;
  const sites: Site[] = [];
  for (const layer of model.layers) {
    if (!pick(layer)) continue;
    if (layer.getClassName() !== 'Dense') {
      if (options.layers)
        throw new Error(`convertToAnalog: layer '${layer.name}' is a ${layer.getClassName()}; only Dense layers convert so far`);
      continue;
    }
    const kernel = (layer as unknown as DenseInternals).kernel;
    if (!kernel) throw new Error(`convertToAnalog: layer '${layer.name}' is not built yet (call the model once, or give it an inputShape)`);
    const [inF, outF] = kernel.read().shape as [number, number];
    const g = tileGrid(inF, outF, dev.tile.rows, dev.tile.cols);
    sites.push({
      layer,
      info: { name: layer.name, kind: 'dense', inFeatures: inF, outFeatures: outF, tiles: [g.rowSpans.length, g.colSpans.length] },
      original: layer.call,
      programmed: null,
      read: null,
      calls: 0,
    });
  }
  if (!sites.length) throw new Error('convertToAnalog: the model has no Dense layer to convert');
  return new AnalogModel(model, dev, sites, new RandomStream(options.seed ?? 'convert'));
}
