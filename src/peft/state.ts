/**
 * Adapter files: `adapter.safetensors` (the adapter's tensors as `adapter.<name>` and the
 * task head as `head.*`) and `adapter_config.json` (plugin, validated config, placement,
 * base-model checksum, parameter counts, and whatever the trainer records). Loading refuses
 * an adapter trained on a different base model unless told otherwise.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readJsonFile } from '../input/json.js';
import type { Transformer } from '../model/transformer.js';
import { readSafeTensors, toFloat32, writeSafeTensors } from '../model/safetensors.js';
import { createAdapter, type AttachedAdapter, type AttachOptions, type ParamCounts } from './host.js';
import { loadPlugin } from './registry.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter.safetensors';

/** What adapter_config.json holds. */
export interface AdapterFile {
  format: 'aimc-adapter';
  version: 1;
  plugin: string;
  /** Folder of a plugin loaded from a path (absent for built-ins). */
  pluginPath?: string;
  config: Record<string, unknown>;
  placement: string;
  baseModel: { checksum: string; name?: string };
  counts: ParamCounts;
  /** Free-form record of how it was trained (the trainer's summary). */
  training?: Record<string, unknown>;
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

/** Write the adapter (and the task head) to dir. */
export async function saveAdapter(
  dir: string,
  a: AttachedAdapter,
  extra: { baseName?: string; training?: Record<string, unknown> } = {},
): Promise<AdapterFile> {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of a.adapter.state()) tensors.set(`adapter.${name}`, { shape: t.shape, data: (await t.data()) as Float32Array });
  for (const [name, v] of a.model.params)
    if (name.startsWith('head.')) tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  const meta: AdapterFile = {
    format: 'aimc-adapter',
    version: 1,
    plugin: a.plugin.plugin.name,
    ...(a.plugin.builtin ? {} : { pluginPath: a.plugin.dir }),
    config: a.config,
    placement: a.adapter.placement,
    baseModel: { checksum: a.checksum, ...(extra.baseName ? { name: extra.baseName } : {}) },
    counts: a.counts(),
    ...(extra.training ? { training: extra.training } : {}),
  };
  writeAtomic(join(dir, ADAPTER_WEIGHTS), writeSafeTensors(tensors, { format: 'aimc-adapter', plugin: meta.plugin }));
  writeAtomic(join(dir, ADAPTER_CONFIG), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

/** Read adapter_config.json, naming the file and field on problems. */
export function readAdapterFile(dir: string): AdapterFile {
  const file = join(dir, ADAPTER_CONFIG);
  if (!existsSync(file)) throw new Error(`${dir}: not an adapter folder (no ${ADAPTER_CONFIG})`);
  const j = (readJsonFile(file, { what: 'adapter config' }).value ?? {}) as Partial<AdapterFile>;
  if (j.format !== 'aimc-adapter') throw new Error(`${file}: /format: expected "aimc-adapter"`);
  if (typeof j.plugin !== 'string') throw new Error(`${file}: /plugin: expected a plugin name`);
  if (!j.baseModel || typeof j.baseModel.checksum !== 'string') throw new Error(`${file}: /baseModel/checksum: expected a string`);
  return j as AdapterFile;
}

/** Load an adapter folder onto a base model (attached); checks the base checksum unless `ignoreChecksum`. */
export async function loadAdapter(
  dir: string,
  model: Transformer,
  o: AttachOptions & { ignoreChecksum?: boolean } = {},
): Promise<AttachedAdapter> {
  const meta = readAdapterFile(dir);
  const plugin = await loadPlugin(meta.pluginPath ?? meta.plugin);
  const a = createAdapter(model, plugin, meta.config, { ...o, source: join(dir, ADAPTER_CONFIG) });
  if (!o.ignoreChecksum && a.checksum !== meta.baseModel.checksum) {
    a.dispose();
    throw new Error(
      `${dir}: this adapter was trained on a different base model (checksum ${meta.baseModel.checksum.slice(0, 12)}…, given ${a.checksum.slice(0, 12)}…${meta.baseModel.name ? `; it names '${meta.baseModel.name}'` : ''})`,
    );
  }
  const file = join(dir, ADAPTER_WEIGHTS);
  const st = readSafeTensors(new Uint8Array(readFileSync(file)), file);
  const state = new Map<string, tf.Tensor>();
  const expected = a.adapter.state();
  try {
    for (const [name, ref] of expected) {
      const t = st.tensors.get(`adapter.${name}`);
      if (!t) throw new Error(`${file}: missing tensor adapter.${name}`);
      if (t.shape.join('x') !== ref.shape.join('x'))
        throw new Error(`${file}: adapter.${name}: expected shape [${ref.shape}], found [${t.shape}]`);
      state.set(name, tf.tensor(toFloat32(t, name, file), t.shape));
    }
    for (const [name, v] of model.params) {
      if (!name.startsWith('head.')) continue;
      const t = st.tensors.get(name);
      if (!t) throw new Error(`${file}: missing task-head tensor ${name}`);
      if (t.shape.join('x') !== v.shape.join('x'))
        throw new Error(`${file}: ${name}: expected shape [${v.shape}], found [${t.shape}] (a head for a different number of labels?)`);
      const value = tf.tensor(toFloat32(t, name, file), t.shape);
      v.assign(value);
      value.dispose();
    }
    a.adapter.load(state);
  } catch (e) {
    a.dispose();
    throw e;
  } finally {
    state.forEach((t) => t.dispose());
  }
  return a;
}
