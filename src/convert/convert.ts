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
 * Dense layers convert (inputs of any rank: the last axis is the one multiplied), and so do
 * Conv1D and Conv2D (channels last, no dilation): their inputs are unrolled into patches
 * (im2col), each patch a row of kernelSize·channels inputs into the kernel's
 * [kernelSize·channels, filters] matrix on tiles, as conv layers are mapped onto crossbars.
 */
import * as tf from '@tensorflow/tfjs';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import type { DeviceProfile } from '../device/types.js';
import { TiledMatrix, type AnalogMatrix, type ProgrammedMatrix } from '../crossbar/analog-matrix.js';
import { hwaLinear, type HwaOptions } from '../crossbar/hwa.js';
import { tileGrid } from '../crossbar/tiling.js';
import { RandomStream } from '../tensor/random.js';
import { im2col } from '../tensor/kernels/index.js';

export type AnalogMode = 'digital' | 'analog' | 'hwa';

/** One converted layer, as `summary()` lists it. */
export interface ConvertedLayer {
  name: string;
  kind: 'dense' | 'conv1d' | 'conv2d';
  inFeatures: number;
  outFeatures: number;
  /** Row tiles × column tiles of the device's tile size. */
  tiles: [number, number];
}

export interface ConvertOptions {
  /** Which layers go to tiles: layer names, or a predicate (default: every Dense, Conv1D and Conv2D layer). */
  layers?: string[] | ((layer: tf.layers.Layer) => boolean);
  /** Seed of every draw (programming, reads, MVM noise, HWA sampling); default 'convert'. */
  seed?: string;
}

/** What aimc reads of a tfjs Dense or Conv layer (its fields are private in the typings, public at run time). */
interface LayerInternals {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
  /** Conv only. */
  strides?: number[];
  padding?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
}

const KINDS: Record<string, ConvertedLayer['kind']> = { Dense: 'dense', Conv1D: 'conv1d', Conv2D: 'conv2d' };

/** Patches of x for a kernel, as conv layers are mapped onto crossbars (see the kernel). */
export { im2col };

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
      const W = tf.tidy(() => this.matrix(s).clone());
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

  private internals(s: Site): LayerInternals {
    return s.layer as unknown as LayerInternals;
  }

  /** The layer's kernel as the matrix on tiles, [inFeatures, outFeatures]. */
  private matrix(s: Site): tf.Tensor2D {
    return tf.reshape(this.internals(s).kernel.read(), [s.info.inFeatures, s.info.outFeatures]) as tf.Tensor2D;
  }

  private call(s: Site, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    // Hardware-aware mode samples the device only while fit() trains; predict/evaluate stay digital.
    if (this.mode === 'digital' || (this.mode === 'hwa' && kwargs?.training !== true)) return s.original.call(s.layer, inputs, kwargs);
    const d = this.internals(s);
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      // Rows of the matrix on tiles: the last axis (dense), or the patches (conv).
      let rows: tf.Tensor;
      let outShape: number[];
      if (s.info.kind === 'dense') {
        rows = x;
        outShape = [...x.shape.slice(0, -1), s.info.outFeatures];
      } else {
        const k = d.kernel.read().shape;
        const x4 = (s.info.kind === 'conv1d' ? tf.expandDims(x, 1) : x) as tf.Tensor4D;
        const st = d.strides ?? [1, 1];
        const [kh, kw, sh, sw] = s.info.kind === 'conv1d' ? [1, k[0]!, 1, st[0]!] : [k[0]!, k[1]!, st[0]!, st[1]!];
        rows = im2col(x4, kh, kw, sh, sw, d.padding === 'same' ? 'same' : 'valid');
        const [B, Ho, Wo] = rows.shape;
        outShape = s.info.kind === 'conv1d' ? [B!, Wo!, s.info.outFeatures] : [B!, Ho!, Wo!, s.info.outFeatures];
      }
      const x2 = tf.reshape(rows, [-1, s.info.inFeatures]) as tf.Tensor2D;
      let y: tf.Tensor2D;
      if (this.mode === 'analog') y = s.read!.forward(x2, this.readRng!.child(s.info.name, 'mvm', s.calls++));
      else y = hwaLinear(x2, this.matrix(s), this.device, this.rng.child('hwa', this.hwaStep++, s.info.name), this.hwa!);
      let out: tf.Tensor = tf.reshape(y, outShape);
      if (d.bias) out = tf.add(out, d.bias.read());
      return d.activation ? d.activation.apply(out) : out;
    });
  }
}

/**
 * Put `model`'s Dense, Conv1D and Conv2D layers (all, or those `options.layers` selects) on `device`'s crossbar
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
    const kind = KINDS[layer.getClassName()];
    if (!kind) {
      if (options.layers) {
        throw new Error(`convertToAnalog: layer '${layer.name}' is a ${layer.getClassName()}; Dense, Conv1D and Conv2D layers convert`);
      }
      continue;
    }
    const li = layer as unknown as LayerInternals;
    if (!li.kernel)
      throw new Error(`convertToAnalog: layer '${layer.name}' is not built yet (call the model once, or give it an inputShape)`);
    if (kind !== 'dense') {
      const dil = [li.dilationRate ?? 1].flat();
      if (li.dataFormat === 'channelsFirst' || dil.some((v) => v !== 1)) {
        throw new Error(`convertToAnalog: layer '${layer.name}': only channelsLast convolutions without dilation convert`);
      }
      if (li.padding !== 'valid' && li.padding !== 'same') {
        throw new Error(`convertToAnalog: layer '${layer.name}': padding '${li.padding}' does not convert (valid, same)`);
      }
    }
    const shape = li.kernel.read().shape;
    const outF = shape[shape.length - 1]!;
    const inF = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const g = tileGrid(inF, outF, dev.tile.rows, dev.tile.cols);
    sites.push({
      layer,
      info: { name: layer.name, kind, inFeatures: inF, outFeatures: outF, tiles: [g.rowSpans.length, g.colSpans.length] },
      original: layer.call,
      programmed: null,
      read: null,
      calls: 0,
    });
  }
  if (!sites.length) throw new Error('convertToAnalog: the model has no Dense, Conv1D or Conv2D layer to convert');
  return new AnalogModel(model, dev, sites, new RandomStream(options.seed ?? 'convert'));
}
