/**
 * aimc checkpoints: a directory with config.json (ModelConfig) and model.safetensors
 * (parameters by aimc's own names, weights [in, out]). Loading checks every parameter's
 * presence and shape and names what is missing, unexpected or mis-shaped.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readJsonFile } from '../input/json.js';
import { validateConfig, type ModelConfig } from './config.js';
import { readSafeTensors, toFloat32, writeSafeTensors } from './safetensors.js';
import { Transformer } from './transformer.js';

/** Write config.json and model.safetensors into dir (created if needed). */
export async function saveCheckpoint(model: Transformer, dir: string, metadata: Record<string, string> = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of model.params) tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(model.config, null, 2) + '\n');
  writeFileSync(join(dir, 'model.safetensors'), writeSafeTensors(tensors, { format: 'aimc', ...metadata }));
}

/** Hears each parameter copied into a model being loaded: file, parameters done, total, float32 bytes in all. */
export type LoadProgress = (file: string, done: number, total: number, bytes: number) => void;

let loadProgress: LoadProgress | null = null;

/** Install (or with null remove) the process's load-progress listener (the CLI's progress bar). */
export function setLoadProgress(fn: LoadProgress | null): void {
  loadProgress = fn;
}

/**
 * Build a model from a config and assign named float32 arrays to its parameters (checked).
 * `fresh` names parameters that may be absent (initialized anew, e.g. a new task head) and
 * `drop` names stored parameters to leave out (e.g. the masked-LM head when fine-tuning).
 */
export function modelFromTensors(
  config: ModelConfig,
  get: (name: string) => { shape: number[]; data: Float32Array } | undefined,
  names: Iterable<string>,
  file: string,
  opts: { fresh?: (name: string) => boolean; drop?: (name: string) => boolean; seed?: string } = {},
): Transformer {
  const all = [...names].filter((n) => !opts.drop?.(n));
  // Parameters initialized anew (a new task head) draw from the seed's stream.
  const model = new Transformer(config, opts.seed ?? 'load');
  if (all.includes('mlm.dense.weight')) model.withMlmHead();
  const problems: string[] = [];
  const total = model.params.size;
  const bytes = 4 * model.parameterCount();
  let done = 0;
  for (const [name, v] of model.params) {
    loadProgress?.(file, done++, total, bytes);
    const t = get(name);
    if (!t && opts.fresh?.(name)) continue;
    if (!t) {
      problems.push(`missing parameter '${name}' (shape ${JSON.stringify(v.shape)})`);
      continue;
    }
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      problems.push(`parameter '${name}' has shape ${JSON.stringify(t.shape)}, the config needs ${JSON.stringify(v.shape)}`);
      continue;
    }
    // Dispose the temporary: a variable whose buffer has a second owner is updated out of place.
    const init = tf.tensor(t.data, v.shape);
    v.assign(init);
    init.dispose();
  }
  loadProgress?.(file, total, total, bytes);
  for (const n of all) if (!model.params.has(n)) problems.push(`unexpected parameter '${n}'`);
  if (problems.length) {
    model.dispose();
    throw new Error(problems.map((p) => `${file}: ${p}`).join('\n'));
  }
  return model;
}

/** An aimc checkpoint's file paths and its validated config.json. */
export function checkpointConfig(dir: string): { config: ModelConfig; cfgFile: string; stFile: string } {
  const cfgFile = join(dir, 'config.json');
  const stFile = join(dir, 'model.safetensors');
  for (const f of [cfgFile, stFile]) {
    if (!existsSync(f)) throw new Error(`${dir}: not an aimc checkpoint (missing ${f.slice(dir.length + 1)})`);
  }
  // aimc writes this file (JSON.stringify never repeats a key): a duplicated key is a hand edit gone wrong, refused.
  const config = readJsonFile(cfgFile, { what: 'model config' }).value as ModelConfig;
  validateConfig(config, cfgFile);
  return { config, cfgFile, stFile };
}

/** The config's sizes against the stored tensors' shapes (the task head's when `checkHead`), before the model is allocated. */
export function checkStoredShapes(
  config: ModelConfig,
  shapeOf: (name: string) => number[] | undefined,
  cfgFile: string,
  stFile: string,
  checkHead: boolean,
): void {
  const emb = shapeOf('embed.tokens');
  if (emb && (emb[0] !== config.vocabSize || emb[1] !== config.hiddenSize)) {
    const sizes = `vocabSize ${config.vocabSize} × hiddenSize ${config.hiddenSize}`;
    throw new Error(`${cfgFile}: ${sizes} does not match ${stFile}'s embed.tokens [${emb.join(', ')}]`);
  }
  const head = shapeOf('head.out.weight');
  if (head && checkHead && head[1] !== config.numLabels) {
    throw new Error(`${cfgFile}: numLabels ${config.numLabels} does not match ${stFile}'s head.out.weight [${head.join(', ')}]`);
  }
}

/**
 * Load an aimc checkpoint directory. With `numLabels`, the model gets a classification head
 * of that size (initialized anew unless the checkpoint has one of that size) and the
 * masked-LM head is left out — the starting point of fine-tuning.
 */
export function loadCheckpoint(dir: string, opts: { numLabels?: number; seed?: string } = {}): Transformer {
  const { config: stored, cfgFile, stFile } = checkpointConfig(dir);
  let config = stored;
  const st = readSafeTensors(readFileSync(stFile), stFile);
  checkStoredShapes(config, (n) => st.tensors.get(n)?.shape, cfgFile, stFile, opts.numLabels === undefined);
  const retarget = opts.numLabels !== undefined && opts.numLabels !== config.numLabels;
  if (opts.numLabels !== undefined) config = { ...config, numLabels: opts.numLabels };
  return modelFromTensors(
    config,
    (name) => {
      if (retarget && name.startsWith('head.')) return undefined;
      const t = st.tensors.get(name);
      return t ? { shape: t.shape, data: toFloat32(t, name, stFile) } : undefined;
    },
    st.tensors.keys(),
    stFile,
    opts.numLabels === undefined
      ? {}
      : {
          fresh: (n) => n.startsWith('head.'),
          drop: (n) => n.startsWith('mlm.') || (retarget && n.startsWith('head.')),
          ...(opts.seed ? { seed: opts.seed } : {}),
        },
  );
}
