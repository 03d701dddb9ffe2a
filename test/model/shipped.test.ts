import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { loadModel, modelsDir, shippedModels } from '../../src/model/load.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

describe('shipped models', () => {
  const SHIPPED: Record<string, number> = { 'aimc-dec-small': 40, 'aimc-dec-tiny': 8, 'aimc-enc-small': 40, 'aimc-enc-tiny': 8 };

  it(`are ${Object.keys(SHIPPED).join(', ')}`, () => {
    expect(shippedModels()).toEqual(Object.keys(SHIPPED));
  });

  for (const [name, mb] of Object.entries(SHIPPED)) {
    it(`${name}: at most ${mb} MB, loads with its tokenizer, reports its pretraining`, () => {
      const dir = join(modelsDir(), name);
      const bytes = ['config.json', 'model.safetensors', 'tokenizer.json'].reduce((a, f) => a + statSync(join(dir, f)).size, 0);
      expect(bytes).toBeLessThanOrEqual(mb * 1024 * 1024);
      const { model, tokenizer } = loadModel(name);
      expect(tokenizer).not.toBeNull();
      const text = 'The jury said the election was conducted fairly.';
      expect(tokenizer!.decode(tokenizer!.encode(text, undefined, false))).toBe(text);
      expect(model.config.vocabSize).toBe(tokenizer!.vocabSize);
      const summary = JSON.parse(readFileSync(join(dir, 'pretrain.json'), 'utf8')) as { dev: { loss: number; perplexity: number; accuracy: number } };
      // Better than guessing uniformly over the vocabulary.
      expect(summary.dev.loss).toBeLessThan(Math.log(model.config.vocabSize));
      model.dispose();
    });
  }
});
