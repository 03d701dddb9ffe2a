import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { pretrain, type PretrainOptions } from '../../src/train/pretrain.js';
import { warmupLinear } from '../../src/train/schedule.js';
import { maskTokens, packSequences } from '../../src/task/lm-batch.js';
import { defaultConfig } from '../../src/model/config.js';
import { RandomStream } from '../../src/tensor/random.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

describe('pretraining pieces', () => {
  it('warmup then linear decay', () => {
    expect([0, 4, 9, 10, 55, 100].map((s) => warmupLinear(s, 10, 100))).toEqual([0.1, 0.5, 1, 1, 0.5, 0]);
  });

  it('packs documents with separators into fixed-length sequences', () => {
    const seqs = packSequences([Int32Array.of(5, 6), Int32Array.of(7, 8, 9)], 3, 2);
    expect(seqs.map((s) => Array.from(s))).toEqual([
      [5, 6, 2],
      [7, 8, 9],
    ]);
  });

  it('masks ~15% of non-special tokens, 80/10/10, deterministically', () => {
    const n = 200_000;
    const ids = Int32Array.from({ length: n }, (_, i) => (i % 50 === 0 ? 1 : 10 + (i % 90)));
    const m = maskTokens(ids, new RandomStream('mask-test'), 100, 4, new Set([1]));
    const eligible = ids.filter((v) => v !== 1).length;
    const p = m.positions.length / eligible;
    expect(Math.abs(p - 0.15)).toBeLessThan(5 * Math.sqrt((0.15 * 0.85) / eligible));
    for (const pos of m.positions) expect(ids[pos]).not.toBe(1);
    const masked = Array.from(m.positions).filter((q) => m.input[q] === 4).length / m.positions.length;
    const kept = Array.from(m.positions).filter((q) => m.input[q] === ids[q]).length / m.positions.length;
    const se = Math.sqrt(0.25 / m.positions.length);
    expect(Math.abs(masked - 0.8)).toBeLessThan(5 * se);
    // "Keep" includes random replacements that happen to draw the same token (1/100 of 10%).
    expect(Math.abs(kept - 0.101)).toBeLessThan(5 * se);
    expect(Array.from(m.targets)).toEqual(Array.from(m.positions, (q) => ids[q]!));
    const again = maskTokens(ids, new RandomStream('mask-test'), 100, 4, new Set([1]));
    expect(Array.from(again.positions)).toEqual(Array.from(m.positions));
    // Another rate selects that fraction (HF's mlm_probability), the split unchanged.
    const m40 = maskTokens(ids, new RandomStream('mask-test'), 100, 4, new Set([1]), 0.4);
    expect(Math.abs(m40.positions.length / eligible - 0.4)).toBeLessThan(5 * Math.sqrt((0.4 * 0.6) / eligible));
  });
});

describe('pretrain()', () => {
  const base = (out: string, steps: number, arch: 'encoder' | 'decoder'): PretrainOptions => {
    const rng = new RandomStream('pt-data');
    const docs = Array.from({ length: 40 }, (_, i) =>
      Int32Array.from(rng.child(i).uniform(new Float64Array(30)), (u) => 5 + Math.floor(u * 40)),
    );
    return {
      config: {
        ...defaultConfig(arch),
        vocabSize: 50,
        hiddenSize: 16,
        numHeads: 2,
        intermediateSize: 32,
        numLayers: 1,
        maxPositions: 16,
        numLabels: 0,
      },
      train: packSequences(docs.slice(0, 30), 16, 2),
      dev: packSequences(docs.slice(30), 16, 2),
      out,
      steps,
      batchSize: 4,
      seqLen: 16,
      lr: 1e-3,
      warmup: 2,
      weightDecay: 0.01,
      clip: 1,
      evalEvery: 3,
      seed: 'pt-test',
      maskId: 4,
      padId: 1,
    };
  };

  for (const arch of ['encoder', 'decoder'] as const) {
    it(`${arch}: a run stopped at step 3 and resumed to 6 equals an uninterrupted run, bit for bit`, async () => {
      const a = mkdtempSync(join(tmpdir(), 'aimc-pt-'));
      const b = mkdtempSync(join(tmpdir(), 'aimc-pt-'));
      const straight = await pretrain(base(a, 6, arch));
      await pretrain(base(b, 3, arch)).then((r) => r.model.dispose());
      const resumed = await pretrain(base(b, 6, arch));
      expect(resumed.state.history.map((h) => h.step)).toEqual([3, 6]);
      for (const [name, v] of straight.model.params) {
        expect(Array.from(resumed.model.params.get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
      }
      expect(resumed.eval.loss).toBe(straight.eval.loss);
      straight.model.dispose();
      resumed.model.dispose();
    });
  }

  it('--stop-at: a run stopped mid-schedule keeps its checkpoint and continues the same schedule, bit for bit', async () => {
    const a = mkdtempSync(join(tmpdir(), 'aimc-pt-'));
    const b = mkdtempSync(join(tmpdir(), 'aimc-pt-'));
    // evalEvery 4 does not divide the stop step: the stop itself must checkpoint.
    const opts = (out: string) => ({ ...base(out, 7, 'decoder'), evalEvery: 4, warmup: 1 });
    const straight = await pretrain(opts(a));
    const stopped = await pretrain({ ...opts(b), stopAt: 3 });
    expect(stopped.state.step).toBe(3);
    expect(stopped.state.seconds).toBeGreaterThanOrEqual(0);
    stopped.model.dispose();
    const resumed = await pretrain(opts(b));
    expect(resumed.state.history.map((h) => h.step)).toEqual([3, 4, 7]);
    for (const [name, v] of straight.model.params) {
      expect(Array.from(resumed.model.params.get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
    }
    straight.model.dispose();
    resumed.model.dispose();
  });

  it('warm start: an encoder from a decoder takes every layer and the aligned positions, the rest stays fresh', async () => {
    const dec = await pretrain(base(mkdtempSync(join(tmpdir(), 'aimc-pt-')), 3, 'decoder'));
    const seen: { copied: string[]; fresh: string[] }[] = [];
    const o = {
      ...base(mkdtempSync(join(tmpdir(), 'aimc-pt-')), 1, 'encoder'),
      init: dec.model,
      onWarmStart: (w: { copied: string[]; fresh: string[] }) => seen.push(w),
      lr: 0,
    };
    const enc = await pretrain(o);
    expect(seen).toHaveLength(1);
    const { copied, fresh } = seen[0]!;
    // Every layer parameter of the decoder has its encoder counterpart.
    const layers = [...dec.model.params.keys()].filter((n) => n.startsWith('decoder.'));
    expect(copied.filter((n) => n.startsWith('encoder.')).sort()).toEqual(layers.map((n) => n.replace(/^decoder\./, 'encoder.')).sort());
    expect(copied).toContain('embed.tokens');
    expect(copied).toContain('embed.positions');
    expect(fresh).toEqual(expect.arrayContaining(['embed.token_type', 'embed.ln.gamma', 'mlm.dense.weight']));
    // With lr 0 the copies are exact: layer weights, and position p of the decoder at row padId + 1 + p.
    const w = (m: typeof enc.model, n: string) => Array.from(m.params.get(n)!.dataSync());
    expect(w(enc.model, 'encoder.0.attn.q.weight')).toEqual(w(dec.model, 'decoder.0.attn.q.weight'));
    const D = dec.model.config.hiddenSize;
    expect(w(enc.model, 'embed.positions').slice(2 * D, 3 * D)).toEqual(w(dec.model, 'embed.positions').slice(0, D));
    enc.model.dispose();
    dec.model.dispose();
  });

  it('learns: the dev loss falls below the uniform-guess loss', async () => {
    const out = mkdtempSync(join(tmpdir(), 'aimc-pt-'));
    const o = { ...base(out, 80, 'decoder'), lr: 1e-2, evalEvery: 80 };
    o.config = { ...o.config, dropout: 0 };
    // A strongly structured corpus: each document repeats one token.
    o.train = Array.from({ length: 40 }, (_, i) => new Int32Array(16).fill(5 + (i % 10)));
    o.dev = Array.from({ length: 8 }, (_, i) => new Int32Array(16).fill(5 + (i % 10)));
    const r = await pretrain(o);
    expect(r.eval.loss).toBeLessThan(Math.log(50) / 2);
    r.model.dispose();
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { pretrainModel } from '../../src/train/pretrain-model.js';
import type { Dataset } from '../../src/data/datasets.js';

describe('pretrainModel (aimc pretrain as a library call)', () => {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  const docs = (n: number, salt: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: `d${salt}-${i}`,
      text: Array.from({ length: 60 }, (_, j) => words[(i * 7 + j * (salt + 3)) % words.length]).join(' '),
      label: 0,
    }));
  const data = { name: 'toy-text', kind: 'lm', labels: [], train: docs(20, 1), dev: docs(4, 2), test: [] } as unknown as Dataset;

  it('trains a tokenizer, pretrains, and writes the model and pretrain.json; messages and progress come through callbacks', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aimc-ptm-')), 'model');
    const messages: string[] = [];
    const steps: number[] = [];
    const r = await pretrainModel({
      arch: 'decoder',
      out,
      dataset: data,
      vocab: 300,
      hidden: 16,
      layers: 1,
      heads: 2,
      ffn: 32,
      seq: 16,
      batch: 4,
      steps: 4,
      warmup: 1,
      evalEvery: 2,
      seed: 'ptm',
      onMessage: (m) => messages.push(m),
      onProgress: (p) => steps.push(p.step),
    });
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(messages[0]).toMatch(/^training a byte-level BPE tokenizer \(300 tokens\) on toy-text train/);
    expect(r.config).toMatchObject({ arch: 'decoder', hiddenSize: 16, numLayers: 1, maxPositions: 16 });
    expect(Number.isFinite(r.eval.loss)).toBe(true);
    for (const f of ['tokenizer.json', 'config.json', 'model.safetensors', 'pretrain.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
    const summary = JSON.parse(readFileSync(join(out, 'pretrain.json'), 'utf8')) as { steps: number; history: unknown[] };
    expect(summary.steps).toBe(4);
    expect(summary.history).toHaveLength(2);
    r.model.dispose();
  });

  it('rejects a bad option before any work, naming it as the caller names it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aimc-ptm-')), 'model');
    await expect(pretrainModel({ arch: 'encoder', out, dataset: data, hidden: 0 })).rejects.toThrow(/hidden/);
    await expect(
      pretrainModel({ arch: 'encoder', out, dataset: data, seq: 64, positions: 32, optionName: (k) => `--${k}` }),
    ).rejects.toThrow(/--seq 64 exceeds --positions 32/);
    await expect(pretrainModel({ arch: 'encoder', out, dataset: data, steps: 5, stopAt: 9 })).rejects.toThrow(/stopAt 9 is beyond steps 5/);
    expect(existsSync(out)).toBe(false);
  });
});
