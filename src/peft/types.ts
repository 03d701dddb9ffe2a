/**
 * The adapter-plugin API (ARCHITECTURE.md, "Adapter plugin"). A plugin sees the model only
 * through its Linear sites and named parameters, and the device only through DeviceModel;
 * it receives the host's tfjs instance in the context so a plugin loaded from outside the
 * repository computes on the same engine (a second tfjs copy would have its own backends).
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { LinearSite, SiteHooks, SiteRole } from '../model/linear.js';
import type { DeviceModel } from '../device/model.js';
import type { RandomStream } from '../tensor/random.js';

/** Where an adapter's computation lives on a chip. */
export type Placement = 'digital' | 'merged';

/** What a plugin knows of the model it adapts. */
export interface ModelShape {
  arch: 'encoder' | 'decoder';
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
}

/** Which sites an adapter targets: roles (`attn.q`) or site-name globs (`encoder.3.*`), optionally only some layers. */
export interface TargetSpec {
  targets: string[];
  layers?: number[];
}

export interface PluginContext {
  /** The host's tfjs. */
  tf: typeof tfNs;
  /** Every Linear site of the model body (attention and FFN projections), forward order. */
  sites: readonly LinearSite[];
  /** The task-head sites (trained by every plugin, counted apart); empty for a decoder (its LM head is tied). */
  headSites: readonly LinearSite[];
  /** Every base parameter by checkpoint name (e.g. `encoder.0.ln1.beta`), head excluded. */
  parameters: ReadonlyMap<string, tfNs.Variable>;
  model: ModelShape;
  /** The device the model will be deployed on, if the user named one. */
  device: DeviceModel | null;
  /** Deployment horizon, seconds after programming (what noise-aware methods target). */
  horizon: number;
  /** The adapter's seeded stream (initialization, sampling). */
  rng: RandomStream;
  /** The body sites matching a target spec; throws naming the spec when none match. */
  selectSites(spec: TargetSpec): LinearSite[];
  /** The layer index of a site (`encoder.3.attn.q` → 3). */
  layerOf(site: LinearSite): number;
  /** A device by built-in name or profile file (validated), for plugins whose config names one. */
  loadDevice(nameOrFile: string): DeviceModel;
  /** Seconds from a duration (`3600`, `1h`, `1d`, `10y`). */
  parseDuration(text: string | number): number;
  /**
   * Std of a device's programmed-and-drifted weights relative to max|W| at t seconds
   * (dimensionless; the crossbar's weight mapping, with the profile's drift compensation).
   */
  relativeWeightNoise(device: DeviceModel, t: number): number;
}

/** What `create` returns. */
export interface Adapter {
  placement: Placement;
  /** Hooks per site name, installed by the host on attach and removed on detach. */
  hooks: Map<string, SiteHooks>;
  /** Variables this method trains, task head excluded. */
  trainableVariables(): tfNs.Variable[];
  /** Trainable parameter count, task head excluded. */
  parameterCount(): number;
  /** Multiply-accumulates the adapter adds in the digital periphery per token (0 when merged); for cost estimates. */
  digitalMacsPerToken?(): number;
  /** An extra loss term added to the task loss during training (e.g. StochGRASP's noise-aware term). */
  extraLoss?(): tfNs.Scalar | null;
  /** Called before each training forward pass with that step's stream, and with null for evaluation. */
  beginStep?(rng: RandomStream | null): void;
  /** The adapter's tensors by name (what is saved). */
  state(): Map<string, tfNs.Tensor>;
  /** Restore tensors saved by state() by assigning their values (the host checks shapes and disposes them after). */
  load(state: Map<string, tfNs.Tensor>): void;
  dispose(): void;
}

/**
 * A method's recommended fine-tuning settings (what `aimc finetune`, experiments and the
 * peft table use when the user sets none): PEFT methods that train a few hundred or thousand
 * parameters want learning rates 10–100× full fine-tuning's.
 */
export interface PluginTrainingDefaults {
  /** Peak learning rate. */
  lr?: number;
  /** Warmup steps. */
  warmup?: number;
  /** AdamW weight decay. */
  weightDecay?: number;
}

/** A plugin as loaded: its manifest (plugin.json) and module together. */
export interface AdapterPlugin<C = Record<string, unknown>> {
  name: string;
  description: string;
  /** Human-readable trainable-parameter formula (shown by `aimc adapter list`). */
  formula?: string;
  /**
   * false when create() never reads ctx.device or ctx.horizon, so a trained adapter does not
   * depend on where it will be deployed and experiments may reuse it across deployment
   * targets. Unset means it may read them (the safe assumption for a third-party plugin).
   */
  readsDeployment?: boolean;
  /** Recommended training settings; anything unset falls back to aimc's defaults. */
  training?: PluginTrainingDefaults;
  create(config: C, ctx: PluginContext): Adapter;
}

/**
 * A plugin module's default export: create(), and any of the descriptive fields that its
 * plugin.json does not give (the built-ins keep all of them in plugin.json).
 */
export type PluginModule<C = Record<string, unknown>> = Partial<Omit<AdapterPlugin<C>, 'create'>> & Pick<AdapterPlugin<C>, 'create'>;

/** A plugin as the host holds it: the module plus its folder and compiled config schema. */
export interface LoadedPlugin {
  plugin: AdapterPlugin;
  dir: string;
  configSchema: Record<string, unknown>;
  builtin: boolean;
}

export type { LinearSite, SiteHooks, SiteRole };
