import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { finetuneClassifier, encodeBatch } from '../../src/train/classify.js';
import type { Dataset } from '../../src/data/datasets.js';
import { wordLevelTokenizer } from '../helpers/cli.js';

const TOKENIZER = wordLevelTokenizer(['good', 'bad', 'film', 'plot', 'the', 'a']);

beforeAll(async () => {
  await initBackend('wasm');
});

describe('classification fine-tuning (full)', () => {
  it('retargets a pretrained encoder to a new head and learns a separable task', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-ft-'));
    const base = new Transformer({ ...defaultConfig('encoder'), vocabSize: 10, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 1, maxPositions: 16, numLabels: 0 }, 'ft');
    base.withMlmHead();
    await saveCheckpoint(base, dir);
    base.dispose();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
    const tok = loadTokenizer(dir)!;
    const model = loadCheckpoint(dir, { numLabels: 2 });
    expect(model.params.has('head.out.weight')).toBe(true);
    expect(model.params.has('mlm.bias')).toBe(false);
    const words = ['the', 'a', 'film', 'plot'];
    const make = (n: number, off: number) =>
      Array.from({ length: n }, (_, i) => {
        const label = i % 2;
        // Filler words are independent of the label: only good/bad decides.
        const k = Math.floor(i / 2) + off;
        return { text: `${words[k % 4]} ${label ? 'good' : 'bad'} ${words[(k * 3 + 1) % 4]}`, label, doc: `d${off}-${i}` };
      });
    const data: Dataset = { name: 'toy', kind: 'classification', labels: ['neg', 'pos'], train: make(64, 0), dev: make(16, 1), test: make(16, 2) };
    const res = finetuneClassifier(model, data, tok, { steps: 80, batchSize: 8, seqLen: 8, lr: 3e-3, warmup: 5, weightDecay: 0, clip: 1, evalEvery: 20, seed: 'ft' });
    expect(res.dev).toBeGreaterThanOrEqual(0.9);
    expect(res.test).toBeGreaterThanOrEqual(0.9);
    model.dispose();
  });

  it('encodeBatch truncates keeping the last token and pads with the mask set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-ft-'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
    const tok = loadTokenizer(dir)!;
    const b = encodeBatch([{ text: 'the good film plot', doc: 'a' }, { text: 'bad', doc: 'b' }], tok, 3, 1);
    expect(b.T).toBe(3);
    expect(Array.from(b.ids)).toEqual([8, 4, 7, 5, 1, 1]);
    expect(Array.from(b.mask!)).toEqual([1, 1, 1, 1, 0, 0]);
  });
});
