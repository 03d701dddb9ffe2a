import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer, type Batch } from '../../src/model/transformer.js';
import { defaultConfig, validateConfig, type ModelConfig } from '../../src/model/config.js';
import { RandomStream } from '../../src/tensor/random.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

const cfg = (arch: ModelConfig['arch'], over: Partial<ModelConfig> = {}): ModelConfig =>
  validateConfig({ ...defaultConfig(arch), vocabSize: 50, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, maxPositions: 16, ...over });

const batch = (rows: number[][], T: number, pad = 1): Batch => {
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(pad);
  const mask = new Float32Array(B * T);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1))));
  return { ids, mask, B, T };
};

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

for (const arch of ['encoder', 'decoder'] as const) {
  describe(`${arch}`, () => {
    it('forward is deterministic (same seed, same bits) and differs across seeds', () => {
      const run = (seed: string) => {
        const m = new Transformer(cfg(arch), seed);
        const b = batch([[5, 6, 7, 8], [9, 10, 11]], 4);
        const y = (arch === 'encoder' ? m.classify(b) : m.lmLogits(b)).dataSync();
        m.dispose();
        return Buffer.from(new Float32Array(y).buffer);
      };
      expect(run('a').equals(run('a'))).toBe(true);
      expect(run('a').equals(run('b'))).toBe(false);
    });

    it('gradients reach every parameter', () => {
      const m = new Transformer(cfg(arch), 'grads');
      const b = batch([[5, 6, 7, 8], [9, 10, 11]], 4);
      const vars = m.variables();
      const { grads } = tf.variableGrads(() => {
        const y = arch === 'encoder' ? m.classify(b, { train: new RandomStream('drop') }) : m.lmLogits(b, { train: new RandomStream('drop') });
        return tf.sum(tf.square(y)) as tf.Scalar;
      }, vars);
      for (const v of vars) {
        const g = grads[v.name];
        expect(g, `no gradient for ${v.name}`).toBeDefined();
        expect(tf.sum(tf.abs(g!)).dataSync()[0]!, `zero gradient for ${v.name}`).toBeGreaterThan(0);
      }
      m.dispose();
    });

    it('padding does not change the results of real tokens', () => {
      const m = new Transformer(cfg(arch, { dropout: 0 }), 'pad');
      const short = batch([[5, 6, 7]], 3);
      const long = batch([[5, 6, 7]], 7);
      if (arch === 'encoder') {
        expect(maxDiff(m.classify(short), m.classify(long))).toBeLessThan(1e-5);
      } else {
        const a = m.lmLogits(short);
        const b = tf.slice(m.lmLogits(long), [0, 0], [3, 50]);
        expect(maxDiff(a, b)).toBeLessThan(1e-5);
      }
      m.dispose();
    });

    it('exposes every projection as a named Linear site with its role', () => {
      const m = new Transformer(cfg(arch), 'sites');
      const names = m.sites.map((s) => `${s.name}:${s.role}`);
      expect(names).toContain(`${arch}.0.attn.q:attn.q`);
      expect(names).toContain(`${arch}.1.ffn.out:ffn.out`);
      if (arch === 'encoder') expect(names).toContain('head.out:head');
      expect(m.sites.every((s) => s.weight.shape.length === 2)).toBe(true);
      m.dispose();
    });
  });
}

describe('decoder causal mask', () => {
  it('changing a later token leaves earlier logits unchanged', () => {
    const m = new Transformer(cfg('decoder', { dropout: 0 }), 'causal');
    const a = m.lmLogits(batch([[5, 6, 7, 8, 9]], 5));
    const b = m.lmLogits(batch([[5, 6, 7, 30, 31]], 5));
    expect(maxDiff(tf.slice(a, [0, 0], [3, 50]), tf.slice(b, [0, 0], [3, 50]))).toBeLessThan(1e-6);
    expect(maxDiff(tf.slice(a, [3, 0], [2, 50]), tf.slice(b, [3, 0], [2, 50]))).toBeGreaterThan(1e-4);
    m.dispose();
  });
});

describe('encoder positions', () => {
  it('follow RoBERTa: padding index + 1 + rank among real tokens, padding gets the padding index', () => {
    const m = new Transformer(cfg('encoder'), 'pos');
    const ids = m.positionIds(batch([[5, 6, 7]], 5));
    expect(Array.from(ids)).toEqual([2, 3, 4, 1, 1]);
    // From the ids, as create_position_ids_from_input_ids: a pad anywhere gets padding_idx
    // and does not advance the count, mask or no mask.
    const mid = m.positionIds({ ids: Int32Array.of(0, 5, 1, 7), B: 1, T: 4 });
    expect(Array.from(mid)).toEqual([2, 3, 1, 4]);
    m.dispose();
  });
});

describe('config validation', () => {
  it('names every bad field', () => {
    expect(() => validateConfig({ ...defaultConfig('encoder'), hiddenSize: 30, numHeads: 4, dropout: 1.5 }, 'cfg.json')).toThrow(
      /cfg.json: numHeads: hiddenSize 30 is not divisible by numHeads 4\ncfg.json: dropout: expected a number in \[0, 1\), got 1.5/,
    );
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { saveHuggingFace } from '../../src/model/hf.js';

describe('pre-LayerNorm encoders', () => {
  const cfg = (pre?: boolean): ModelConfig => ({ ...defaultConfig('encoder'), vocabSize: 30, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 2, maxPositions: 8, numLabels: 2, dropout: 0, ...(pre === undefined ? {} : { preLayerNorm: pre }) });
  const batch: Batch = { ids: Int32Array.from([0, 5, 7, 9, 2]), B: 1, T: 5 };

  it('have a final LayerNorm, compute h + f(LN(h)) (not the post-LN function), and round-trip through a checkpoint', async () => {
    await initBackend(); // the default engine, or AIMC_BACKEND
    const post = new Transformer(cfg(), 'ln');
    const pre = new Transformer(cfg(true), 'ln');
    expect(post.params.has('final_ln.gamma')).toBe(false);
    expect(pre.params.has('final_ln.gamma')).toBe(true);
    // Same seed, same weights for every shared parameter; only the placement differs.
    for (const [n, v] of post.params) expect(Array.from(pre.params.get(n)!.dataSync())).toEqual(Array.from(v.dataSync()));
    // Wider weights than the 0.02 init, so the two placements' outputs are far apart.
    for (const m of [post, pre]) for (const [n, v] of m.params) if (n.endsWith('.weight')) v.assign(tf.mul(v, 20));
    const a = post.classify(batch).dataSync();
    const b = pre.classify(batch).dataSync();
    expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)))).toBeGreaterThan(1e-4);
    const dir = mkdtempSync(join(tmpdir(), 'aimc-preln-'));
    await saveCheckpoint(pre, dir);
    const back = loadCheckpoint(dir);
    expect(back.config.preLayerNorm).toBe(true);
    expect(Array.from(back.classify(batch).dataSync())).toEqual(Array.from(b));
    await expect(saveHuggingFace(pre, mkdtempSync(join(tmpdir(), 'aimc-preln-hf-')))).rejects.toThrow(/no Hugging Face RoBERTa equivalent/);
    [post, pre, back].forEach((m) => m.dispose());
  });

  it('config: preLayerNorm must be a boolean, and a decoder cannot be post-LN', () => {
    expect(() => validateConfig({ ...cfg(), preLayerNorm: 'yes' as unknown as boolean })).toThrow(/preLayerNorm: expected true or false/);
    expect(() => validateConfig({ ...defaultConfig('decoder'), preLayerNorm: false })).toThrow(/pre-LN only/);
  });
});
