/** Resolve MODEL arguments: a shipped model's name (models/NAME) or a directory (aimc or Hugging Face). */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from './checkpoint.js';
import { isHuggingFaceDir, loadHuggingFace } from './hf.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';
import type { Transformer } from './transformer.js';

/** The repository's models/ folder (shipped checkpoints). */
export function modelsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'devices'))) return join(dir, 'models');
    dir = resolve(dir, '..');
  }
  return resolve('models');
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
}

/** Load MODEL: a shipped name or a directory path. */
export function loadModel(nameOrDir: string): LoadedModel {
  const shipped = join(modelsDir(), nameOrDir);
  const dir = !nameOrDir.includes('/') && existsSync(join(shipped, 'config.json')) ? shipped : nameOrDir;
  if (!existsSync(dir)) {
    const names = shippedModels();
    throw new Error(`unknown model '${nameOrDir}' (shipped: ${names.length ? names.join(', ') : 'none'}; or give a checkpoint directory)`);
  }
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`${dir}: no config.json (not a model directory)`);
  const hf = isHuggingFaceDir(dir);
  const model = hf ? loadHuggingFace(dir) : loadCheckpoint(dir);
  return { model, dir, tokenizer: loadTokenizer(dir), format: hf ? 'huggingface' : 'aimc' };
}

/** Read a JSON file, naming it on failure. */
export function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}
