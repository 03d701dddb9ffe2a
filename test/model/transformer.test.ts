import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer, type Batch } from '../../src/model/transformer.js';
import { defaultConfig, validateConfig, type ModelConfig } from '../../src/model/config.js';
import { RandomStream } from '../../src/tensor/random.js';

beforeAll(async () => {
  await initBackend('wasm');
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
