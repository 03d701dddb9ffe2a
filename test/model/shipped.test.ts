import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { loadModel, modelsDir, shippedModels } from '../../src/model/load.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

describe('shipped models', () => {
  it('are aimc-enc-tiny and aimc-dec-tiny', () => {
    expect(shippedModels()).toEqual(['aimc-dec-tiny', 'aimc-enc-tiny']);
  });

  for (const name of ['aimc-enc-tiny', 'aimc-dec-tiny']) {
    it(`${name}: at most 8 MB, loads with its tokenizer, reports its pretraining`, () => {
      const dir = join(modelsDir(), name);
      const bytes = ['config.json', 'model.safetensors', 'tokenizer.json'].reduce((a, f) => a + statSync(join(dir, f)).size, 0);
      expect(bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
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
