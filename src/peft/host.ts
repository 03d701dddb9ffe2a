/**
 * The plugin host: validates a plugin's config against its schema (ajv, defaults filled in),
 * builds the context a plugin sees, installs the adapter's hooks on the model's sites and
 * keeps the task head trainable beside it (HF PEFT's `modules_to_save`).
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import { describeSchemaErrors, problemLine } from '../input/schema-errors.js';
import { parseDuration } from '../input/values.js';
import { relativeWeightNoise } from '../crossbar/mapping.js';
import type { LinearSite } from '../model/linear.js';
import type { Transformer } from '../model/transformer.js';
import { RandomStream } from '../tensor/random.js';
import { pluginAjv } from './schema.js';
import type { Adapter, LoadedPlugin, PluginContext, TargetSpec } from './types.js';

/** A config that failed its plugin's schema; the message names the plugin, the JSON path and what was expected. */
export class PluginConfigError extends Error {
  constructor(
    readonly plugin: string,
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid config for adapter '${plugin}':\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'PluginConfigError';
  }
}

/** Validate (and default-fill) a plugin config; `source` names where it came from (file or `--config`). */
export function validatePluginConfig(p: LoadedPlugin, config: unknown, source = '--config'): Record<string, unknown> {
  const ajv = pluginAjv();
  let validate;
  try {
    validate = ajv.compile(p.configSchema);
  } catch (e) {
    throw new Error(`${p.dir}/schema.json: not a valid JSON Schema (${(e as Error).message})`);
  }
  const copy = structuredClone(config ?? {}) as Record<string, unknown>;
  if (!validate(copy))
    throw new PluginConfigError(
      p.plugin.name,
      source,
      describeSchemaErrors(validate.errors, { schema: p.configSchema, doc: copy }).map(problemLine),
    );
  return copy;
}

/** Site names and roles matching a target spec. */
export function selectSites(sites: readonly LinearSite[], spec: TargetSpec): LinearSite[] {
  const globs = spec.targets.map((t) => new RegExp(`^${t.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  const picked = sites.filter((s) => spec.targets.includes(s.role) || globs.some((g) => g.test(s.name)));
  const inLayers = spec.layers ? picked.filter((s) => spec.layers!.includes(layerOf(s))) : picked;
  if (!inLayers.length) {
    throw new Error(
      `targets ${JSON.stringify(spec.targets)}${spec.layers ? ` in layers ${JSON.stringify(spec.layers)}` : ''} match no site (sites: ${sites.map((s) => s.name).join(', ')})`,
    );
  }
  return inLayers;
}

/** `encoder.3.attn.q` → 3 (−1 for sites outside the layers). */
export function layerOf(site: LinearSite): number {
  const m = /^(?:encoder|decoder)\.(\d+)\./.exec(site.name);
  return m ? Number(m[1]) : -1;
}

const HEAD_PREFIX = /^head\./;

/** Sha-256 over the base parameters' names, shapes and values (head excluded): identifies the model an adapter was trained on. */
export function baseChecksum(model: Transformer): string {
  const h = createHash('sha256');
  for (const [name, v] of [...model.params].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (HEAD_PREFIX.test(name) || name.startsWith('mlm.')) continue;
    h.update(`${name}:${v.shape.join('x')};`);
    const data = v.dataSync() as Float32Array;
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

export interface AttachOptions {
  device?: DeviceModel | null;
  /** Deployment horizon in seconds (default 1 day). */
  horizon?: number;
  seed?: string;
  /** Where the config came from, for messages. */
  source?: string;
}

/** Trainable budgets: adapter parameters, head parameters, base model parameters. */
export interface ParamCounts {
  trainable: number;
  head: number;
  base: number;
}

/** An adapter installed on a model. */
export class AttachedAdapter {
  private attached = false;

  constructor(
    readonly model: Transformer,
    readonly plugin: LoadedPlugin,
    readonly config: Record<string, unknown>,
    readonly adapter: Adapter,
    readonly checksum: string,
  ) {}

  /** The task-head variables (trained beside every adapter). */
  headVariables(): tf.Variable[] {
    return [...this.model.params].filter(([n]) => HEAD_PREFIX.test(n)).map(([, v]) => v);
  }

  /** Adapter variables then head variables, without duplicates (the `full` plugin's list has no head). */
  trainableVariables(): tf.Variable[] {
    return [...new Set([...this.adapter.trainableVariables(), ...this.headVariables()])];
  }

  counts(): ParamCounts {
    const head = this.headVariables().reduce((a, v) => a + v.size, 0);
    return { trainable: this.adapter.parameterCount(), head, base: this.model.parameterCount() - head - mlmCount(this.model) };
  }

  /** Install the hooks on the model's sites. */
  attach(): this {
    if (this.attached) return this;
    const byName = new Map(this.model.sites.map((s) => [s.name, s]));
    for (const [name, hooks] of this.adapter.hooks) {
      const site = byName.get(name);
      if (!site) throw new Error(`adapter '${this.plugin.plugin.name}' hooks unknown site '${name}'`);
      site.hooks.push(hooks);
    }
    this.attached = true;
    return this;
  }

  /** Remove the hooks (the model computes as its base again, except for base parameters the method trained in place). */
  detach(): void {
    if (!this.attached) return;
    for (const site of this.model.sites) site.hooks = site.hooks.filter((h) => ![...this.adapter.hooks.values()].includes(h));
    this.attached = false;
  }

  dispose(): void {
    this.detach();
    this.adapter.dispose();
  }
}

function mlmCount(model: Transformer): number {
  let n = 0;
  for (const [name, v] of model.params) if (name.startsWith('mlm.')) n += v.size;
  return n;
}

/** Build the plugin context for a model. */
export function pluginContext(model: Transformer, o: AttachOptions, name: string): PluginContext {
  const c = model.config;
  const body = model.sites.filter((s) => s.role !== 'head' && s.role !== 'lm_head' && !s.name.startsWith('mlm.'));
  const parameters = new Map([...model.params].filter(([n]) => !HEAD_PREFIX.test(n) && !n.startsWith('mlm.')));
  return {
    tf,
    sites: body,
    headSites: model.sites.filter((s) => s.role === 'head'),
    parameters,
    model: { arch: c.arch, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numLayers: c.numLayers, numHeads: c.numHeads },
    device: o.device ?? null,
    horizon: o.horizon ?? 86400,
    rng: new RandomStream(`${o.seed ?? 'aimc'}/adapter/${name}`),
    selectSites: (spec) => selectSites(body, spec),
    layerOf,
    loadDevice: (nameOrFile) => new DeviceModel(loadProfile(nameOrFile)),
    parseDuration: (text) => (typeof text === 'number' ? text : parseDuration(text, `adapter '${name}' horizon`)),
    relativeWeightNoise: (device, t) => relativeWeightNoise(device, t),
  };
}

/** Validate the config, create the adapter and attach it. */
export function createAdapter(model: Transformer, p: LoadedPlugin, config: unknown, o: AttachOptions = {}): AttachedAdapter {
  const cfg = validatePluginConfig(p, config, o.source);
  const checksum = baseChecksum(model);
  const adapter = p.plugin.create(cfg, pluginContext(model, o, p.plugin.name));
  return new AttachedAdapter(model, p, cfg, adapter, checksum).attach();
}
