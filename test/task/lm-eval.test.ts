import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { loadTokenizer, type TextTokenizer } from '../../src/model/tokenizer.js';
import { evalSequences, evaluateLm } from '../../src/task/lm-eval.js';
import { cli, wordLevelTokenizer } from '../helpers/cli.js';

let tok: TextTokenizer;
beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  const dir = mkdtempSync(join(tmpdir(), 'aimc-lmeval-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordLevelTokenizer(['hello', 'world', 'hi'])));
  tok = loadTokenizer(dir)!;
});

describe('language-model evaluation', () => {
  it('a uniform decoder scores ln V nats per token, and bits per byte = log2 V / bytes per predicted token', () => {
    const V = 7;
    const m = new Transformer({ ...defaultConfig('decoder'), vocabSize: V, hiddenSize: 8, numHeads: 2, intermediateSize: 16, numLayers: 1, maxPositions: 8 }, 'u');
    // Zero embeddings: every logit is 0 through the tied LM head.
    m.params.get('embed.tokens')!.assign(tf.zeros([V, 8]));
    const texts = [Array.from({ length: 8 }, () => 'hello world').join(' ')];
    const seqs = evalSequences(tok, texts, 4);
    // 16 tokens + the separator → 4 full sequences [hello world hello world].
    expect(seqs).toHaveLength(4);
    const r = evaluateLm(m, tok, seqs, { seqLen: 4, batchSize: 3 });
    // Predicted: positions 0–2 of each sequence (world, hello, world) = 12 tokens of 5 bytes.
    expect(r.tokens).toBe(12);
    expect(r.bytes).toBe(60);
    expect(r.loss).toBeCloseTo(Math.log(V), 5);
    expect(r.perplexity).toBeCloseTo(V, 4);
    expect(r.bitsPerByte).toBeCloseTo(Math.log2(V) / 5, 5);
    m.dispose();
  });

  it('--limit takes sequences spread over the split, deterministically', () => {
    const texts = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'hello world hi hi' : 'hi world hello hello'));
    const all = evalSequences(tok, texts, 4);
    const some = evalSequences(tok, texts, 4, 5);
    expect(some).toHaveLength(5);
    expect(some[0]).toEqual(all[0]);
    expect(some[4]).toEqual(all[Math.floor((4 * all.length) / 5)]);
    expect(evalSequences(tok, texts, 4, 5)).toEqual(some);
  });

  it('refuses a split shorter than one sequence', () => {
    const m = new Transformer({ ...defaultConfig('decoder'), vocabSize: 7, hiddenSize: 8, numHeads: 2, intermediateSize: 16, numLayers: 1, maxPositions: 8 }, 'u');
    expect(() => evaluateLm(m, tok, [], { seqLen: 4 })).toThrow(/no token to predict/);
    m.dispose();
  });
});

describe('aimc model eval', () => {
  for (const model of ['aimc-enc-tiny', 'aimc-dec-tiny']) {
    it(`${model} on brown-text dev: loss, accuracy, perplexity, bits per byte`, async () => {
      const r = await cli('model', 'eval', model, '--dataset', 'brown-text', '--limit', '6', '--json');
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as Record<string, number>;
      expect(Object.keys(j).sort()).toEqual(['accuracy', 'bitsPerByte', 'loss', 'perplexity', 'tokens']);
      expect(j.perplexity).toBeCloseTo(Math.exp(j.loss!), 6);
      expect(j.accuracy).toBeGreaterThan(0);
      expect(j.accuracy).toBeLessThan(1);
      // Better than a uniform guess over the vocabulary, worse than perfect.
      expect(j.loss).toBeLessThan(Math.log(4096));
      expect(j.bitsPerByte).toBeGreaterThan(0.5);
      expect(j.bitsPerByte).toBeLessThan(8);
      expect(j.tokens).toBeGreaterThan(0);
    });
  }

  it('aimc-dec-small knows more English than aimc-dec-tiny: bits per byte at least 0.2 lower on the same text', async () => {
    const bpb = async (m: string) => {
      const r = await cli('model', 'eval', m, '--dataset', 'brown-text', '--limit', '12', '--json');
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { bitsPerByte: number }).bitsPerByte;
    };
    // Full brown-text dev: 2.231 (tiny) vs 1.819 (small). On 12 × 128 tokens of the same text the
    // paired difference's standard error is ~0.02 bits per byte, far inside the 0.2 margin.
    expect((await bpb('aimc-dec-tiny')) - (await bpb('aimc-dec-small'))).toBeGreaterThan(0.2);
  });

  it('aimc-enc-small fills in masked tokens far better than aimc-enc-tiny on the same text', async () => {
    const acc = async (m: string) => {
      const r = await cli('model', 'eval', m, '--dataset', 'brown-text', '--limit', '12', '--json');
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as { accuracy: number; tokens: number };
    };
    const [tiny, small] = [await acc('aimc-enc-tiny'), await acc('aimc-enc-small')];
    // Full brown-text dev: 0.093 (tiny) vs 0.301 (small). ~150 masked tokens each here: the
    // binomial standard error of either is ≤ 0.04, so a 0.1 margin is over 2.5 of them combined.
    expect(small.tokens).toBeGreaterThan(100);
    expect(small.accuracy - tiny.accuracy).toBeGreaterThan(0.1);
  });

  it('the same command twice gives the same figures', async () => {
    const a = await cli('model', 'eval', 'aimc-enc-tiny', '--limit', '4', '--json');
    const b = await cli('model', 'eval', 'aimc-enc-tiny', '--limit', '4', '--json');
    expect(a.out).toBe(b.out);
  });

  it('refuses what it cannot evaluate, naming the problem', async () => {
    expect((await cli('model', 'eval', 'aimc-enc-tiny', '--split', 'valid')).err).toMatch(/--split: expected train, dev or test/);
    expect((await cli('model', 'eval', 'aimc-enc-tiny', '--seq', '4096')).err).toMatch(/--seq 4096 exceeds the model's 128 positions/);
    expect((await cli('model', 'eval', 'aimc-enc-tiny', '--dataset', 'nope')).err).toMatch(/unknown dataset 'nope'/);
  });
});
