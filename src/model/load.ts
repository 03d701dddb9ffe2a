/** Resolve MODEL arguments: a shipped model's name (models/NAME) or a directory (aimc or Hugging Face). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../input/package-root.js';
import { checkpointConfig, checkStoredShapes, loadCheckpoint } from './checkpoint.js';
import { hfConfigOf, isHuggingFaceDir, loadHuggingFace } from './hf.js';
import { modelLayout, type ModelLayout } from './layout.js';
import type { ModelConfig } from './config.js';
import { readSafeTensorsHeader } from './safetensors.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';
import { Transformer } from './transformer.js';

/** The aimc package's models/ folder (shipped checkpoints). */
export function modelsDir(): string {
  return join(packageRoot(), 'models');
}

/** Names of shipped models (folders of models/ holding a config.json). */
export function shippedModels(): string[] {
  const d = modelsDir();
  if (!existsSync(d)) return [];
  return readdirSync(d, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(d, e.name, 'config.json')))
    .map((e) => e.name)
    .sort();
}

/** A loaded model with its directory and tokenizer (if any). */
export interface LoadedModel {
  model: Transformer;
  dir: string;
  tokenizer: TextTokenizer | null;
  format: 'aimc' | 'huggingface';
  /** The task head was created anew (untrained) by loadModelForTask. */
  freshHead?: boolean;
}

/** The directory of MODEL: a shipped model's name or a path; throws when there is none. */
function modelDir(nameOrDir: string): string {
  const shipped = join(modelsDir(), nameOrDir);
  const dir = !nameOrDir.includes('/') && existsSync(join(shipped, 'config.json')) ? shipped : nameOrDir;
  if (!existsSync(dir)) {
    const names = shippedModels();
    throw new Error(`unknown model '${nameOrDir}' (shipped: ${names.length ? names.join(', ') : 'none'}; or give a checkpoint directory)`);
  }
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`${dir}: no config.json (not a model directory)`);
  return dir;
}

/** MODEL's config and layout from config.json and the weights' header alone (nothing allocated): for `model info`. */
export function describeModel(nameOrDir: string): {
  dir: string;
  format: 'aimc' | 'huggingface';
  config: ModelConfig;
  layout: ModelLayout;
} {
  const dir = modelDir(nameOrDir);
  if (isHuggingFaceDir(dir)) {
    const config = hfConfigOf(dir);
    return { dir, format: 'huggingface', config, layout: modelLayout(config) };
  }
  const { config, cfgFile, stFile } = checkpointConfig(dir);
  const shapes = readSafeTensorsHeader(stFile);
  checkStoredShapes(config, (n) => shapes.get(n), cfgFile, stFile, true);
  return { dir, format: 'aimc', config, layout: modelLayout(config, shapes.has('mlm.dense.weight')) };
}

/**
 * Load MODEL: a shipped name or a directory path. With `numLabels` (aimc checkpoints), the
 * model gets a task head of that size, new ones drawn from `seed`'s stream.
 */
export function loadModel(nameOrDir: string, opts: { numLabels?: number; seed?: string } = {}): LoadedModel {
  const dir = modelDir(nameOrDir);
  const hf = isHuggingFaceDir(dir);
  let model = hf ? loadHuggingFace(dir) : loadCheckpoint(dir, opts);
  if (hf && opts.numLabels !== undefined && model.config.numLabels !== opts.numLabels) {
    // A new task head of the requested size; the body's weights carry over.
    const headed = new Transformer({ ...model.config, numLabels: opts.numLabels }, opts.seed ?? 'load');
    for (const [n, v] of headed.params) if (!n.startsWith('head.')) v.assign(model.params.get(n)!);
    model.dispose();
    model = headed;
  }
  return { model, dir, tokenizer: loadTokenizer(dir), format: hf ? 'huggingface' : 'aimc' };
}

/**
 * Load MODEL for a task: an encoder gets a task head of `numLabels` outputs (new ones drawn
 * from `seed`); a decoder is loaded as it is (its LM head is tied to the embedding).
 */
export function loadModelForTask(nameOrDir: string, numLabels: number, seed?: string): LoadedModel {
  const plain = loadModel(nameOrDir);
  if (plain.model.config.arch === 'decoder' || plain.model.config.numLabels === numLabels) return plain;
  plain.model.dispose();
  return { ...loadModel(nameOrDir, { numLabels, ...(seed ? { seed } : {}) }), freshHead: true };
}
