import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { loadTokenizer, type TextTokenizer } from '../../src/model/tokenizer.js';
import { clipText, encodeBatch } from '../../src/task/batch.js';
import { trainAdapter, type TrainOptions } from '../../src/train/trainer.js';
import { resolveTraining } from '../../src/train/settings.js';
import { trainOptionsOf } from '../../src/train/finetune.js';
import { createAdapter } from '../../src/peft/host.js';
import { loadPlugin } from '../../src/peft/registry.js';
import { DeviceModel } from '../../src/device/model.js';
import { loadProfile } from '../../src/device/profile.js';
import { HwaTraining } from '../../src/train/hwa-sites.js';
import { defaultAnalogSites } from '../../src/model/sites.js';
import { RandomStream } from '../../src/tensor/random.js';
import type { Dataset } from '../../src/data/datasets.js';
import { wordLevelTokenizer } from '../helpers/cli.js';

const WORDS = ['good', 'bad', 'film', 'plot', 'the', 'a', 'name', 'food', 'is', 'cheap', 'pricey', 'eatType', 'pub', 'cafe', '||', '[', ']', ','];
let tok: TextTokenizer;
let dir: string;

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  dir = mkdtempSync(join(tmpdir(), 'aimc-ft-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordLevelTokenizer(WORDS)));
  tok = loadTokenizer(dir)!;
});

const FILLER = ['the', 'a', 'film', 'plot'];
/** A task only good/bad decides; filler words are independent of the label. */
function sentiment(n: number, off: number) {
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const k = Math.floor(i / 2) + off;
    return { text: `${FILLER[k % 4]} ${label ? 'good' : 'bad'} ${FILLER[(k * 3 + 1) % 4]}`, label, doc: `d${off}-${i}` };
  });
}
const TOY: Dataset = { name: 'toy', kind: 'classification', labels: ['neg', 'pos'], train: sentiment(64, 0), dev: sentiment(16, 1), test: sentiment(16, 2) };
const OPTS: TrainOptions = { steps: 80, batchSize: 8, seqLen: 8, lr: 3e-3, warmup: 5, weightDecay: 0, clip: 1, evalEvery: 20, seed: 'ft' };

/**
 * A "pretrained" encoder saved as a checkpoint. Its projections are drawn 10× wider than the
 * 0.02 init, so a frozen base already carries token identity to the first position (as a
 * trained one would) — methods that keep the base frozen have features to adapt.
 */
async function encoder(numLabels: number): Promise<Transformer> {
  const base = new Transformer({ ...defaultConfig('encoder'), vocabSize: 4 + WORDS.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 1, maxPositions: 16, numLabels: 0 }, 'ft');
  for (const s of base.sites) s.weight.assign(tf.mul(s.weight, 10));
  base.withMlmHead();
  const ck = mkdtempSync(join(tmpdir(), 'aimc-ck-'));
  await saveCheckpoint(base, ck);
  base.dispose();
  return loadCheckpoint(ck, { numLabels });
}

describe('every built-in plugin learns with its own training defaults', () => {
  // No training setting is given: learning rate, warmup, weight decay, steps and batch are
  // the plugin's recommendation or aimc's default (src/train/settings.ts).
  for (const name of ['full', 'head', 'grasp', 'stochgrasp', 'lora', 'bitfit', 'ia3']) {
    it(name, async () => {
      const model = await encoder(2);
      const plugin = await loadPlugin(name);
      const { settings, sources } = resolveTraining([], plugin.plugin);
      if (name !== 'full') expect(sources.lr).toBe(`plugin ${name}`);
      const a = createAdapter(model, plugin, name === 'stochgrasp' ? { targetStd: 0.05 } : {});
      const res = await trainAdapter(a, TOY, tok, { ...trainOptionsOf(settings), seed: 'defaults' });
      expect(res.dev.accuracy).toBeGreaterThanOrEqual(0.9);
      a.dispose();
      model.dispose();
    });
  }
});

describe('trainer', () => {
  it('full fine-tuning retargets a pretrained encoder to a new head and learns a separable task', async () => {
    const model = await encoder(2);
    expect(model.params.has('head.out.weight')).toBe(true);
    expect(model.params.has('mlm.bias')).toBe(false);
    const a = createAdapter(model, await loadPlugin('full'), {});
    const res = await trainAdapter(a, TOY, tok, OPTS);
    expect(res.main).toBe('accuracy');
    expect(res.dev.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(res.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(res.test.f1).toBeGreaterThanOrEqual(0.85);
    expect(res.test.mcc).toBeGreaterThan(0.7);
    a.dispose();
    model.dispose();
  });

  it('GRASP with the head learns it too, and the base weights do not move', async () => {
    const model = await encoder(2);
    const w = model.params.get('encoder.0.attn.q.weight')!.dataSync().slice();
    const a = createAdapter(model, await loadPlugin('grasp'), { groups: 4 });
    const res = await trainAdapter(a, TOY, tok, { ...OPTS, steps: 120, lr: 1e-2 });
    expect(res.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(Array.from(model.params.get('encoder.0.attn.q.weight')!.dataSync())).toEqual(Array.from(w));
    a.dispose();
    model.dispose();
  });

  it('hardware-aware training runs on device-sampled weights and still learns', async () => {
    const model = await encoder(2);
    const a = createAdapter(model, await loadPlugin('lora'), { rank: 2, targets: ['attn.q', 'attn.v', 'ffn.in'] });
    const device = new DeviceModel(loadProfile('pcm-nandakumar-2019'));
    const res = await trainAdapter(a, TOY, tok, { ...OPTS, steps: 100, lr: 1e-2, hwa: { device, t: 3600 } });
    expect(res.test.accuracy).toBeGreaterThanOrEqual(0.85);
    // The executors are removed afterwards: the model is digital again.
    expect(model.sites.every((s) => s.executor === null && s.mode === 'digital')).toBe(true);
    a.dispose();
    model.dispose();
  });

  it('HwaTraining: device-sampled forward while a step stream is set, exact digital forward without one', async () => {
    const model = await encoder(2);
    const batch = encodeBatch(TOY.dev.slice(0, 4), tok, 8, 1);
    const y0 = model.classify(batch).dataSync();
    const hwa = new HwaTraining(defaultAnalogSites(model), { device: new DeviceModel(loadProfile('pcm-nandakumar-2019')), t: 86400 });
    expect(model.sites.filter((s) => s.mode === 'hwa').map((s) => s.role)).toEqual(['attn.q', 'attn.k', 'attn.v', 'attn.o', 'ffn.in', 'ffn.out']);
    hwa.beginStep(new RandomStream('hwa/1'));
    const y1 = model.classify(batch).dataSync();
    hwa.beginStep(new RandomStream('hwa/2'));
    const y2 = model.classify(batch).dataSync();
    hwa.beginStep(new RandomStream('hwa/1'));
    const y1again = model.classify(batch).dataSync();
    hwa.beginStep(null);
    const yd = model.classify(batch).dataSync();
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    expect(diff(y1, y0)).toBeGreaterThan(1e-4);
    expect(diff(y1, y2)).toBeGreaterThan(1e-4);
    expect(diff(y1, y1again)).toBe(0);
    expect(diff(yd, y0)).toBe(0);
    hwa.remove();
    model.dispose();
  });

  it('regression: MSE on a single output, Pearson/Spearman reported', async () => {
    const model = await encoder(1);
    const reg = (d: Dataset['train']) => d.map((e) => ({ ...e, label: e.label ? 4.5 : 0.5 }));
    const data: Dataset = { name: 'toy-reg', kind: 'regression', labels: [], train: reg(TOY.train), dev: reg(TOY.dev), test: reg(TOY.test) };
    const a = createAdapter(model, await loadPlugin('full'), {});
    const res = await trainAdapter(a, data, tok, OPTS);
    expect(res.main).toBe('pearson');
    expect(res.test.pearson).toBeGreaterThan(0.9);
    expect(res.test.spearman).toBeGreaterThan(0.8);
    a.dispose();
    model.dispose();
  });

  it('early stopping ends the run after `patience` evaluations without improvement', async () => {
    const model = await encoder(2);
    const a = createAdapter(model, await loadPlugin('full'), {});
    const res = await trainAdapter(a, TOY, tok, { ...OPTS, steps: 400, evalEvery: 10, patience: 3 });
    expect(res.stoppedEarly).toBe(true);
    const evals = res.history.filter((h) => h.dev);
    expect(evals.length).toBeLessThan(40);
    // The run stopped exactly `patience` evaluations after the best one.
    expect(res.history.length).toBe(res.bestStep + 30);
    a.dispose();
    model.dispose();
  });

  it('refuses a task that does not fit the model', async () => {
    const model = await encoder(3);
    const a = createAdapter(model, await loadPlugin('head'), {});
    await expect(trainAdapter(a, TOY, tok, OPTS)).rejects.toThrow(/the model's head has 3 outputs, the task needs 2/);
    a.dispose();
    model.dispose();
  });

  it('conditional generation with the decoder: loss on the reference only, BLEU/ROUGE-L at the end', async () => {
    const model = new Transformer({ ...defaultConfig('decoder'), vocabSize: 4 + WORDS.length, hiddenSize: 24, numHeads: 2, intermediateSize: 48, numLayers: 1, maxPositions: 24, padTokenId: 1, dropout: 0 }, 'gen');
    // The text copies the slot values: learnable by a one-layer decoder in a few hundred steps.
    const mk = (n: number, off: number) =>
      Array.from({ length: n }, (_, i) => {
        const food = ['cheap', 'pricey'][(i + off) % 2]!;
        const kind = ['pub', 'cafe'][Math.floor((i + off) / 2) % 2]!;
        return { text: `name [ ${kind} ] , food [ ${food} ]`, refs: [`the ${kind} is ${food}`, `a ${kind} is ${food}`], doc: `${i}-${off}` };
      });
    const data: Dataset = { name: 'toy-e2e', kind: 'generation', labels: [], train: mk(32, 0), dev: mk(8, 1), test: mk(8, 2) };
    const a = createAdapter(model, await loadPlugin('full'), {});
    const res = await trainAdapter(a, data, tok, { ...OPTS, steps: 300, seqLen: 24, batchSize: 8, lr: 1e-2, maxNewTokens: 8, evalEvery: 100 });
    expect(res.main).toBe('perplexity');
    expect(res.dev.perplexity).toBeLessThan(3);
    expect(res.test.bleu).toBeGreaterThan(0.5);
    expect(res.test.rougeL).toBeGreaterThan(0.7);
    a.dispose();
    model.dispose();
  });
});

describe('encodeBatch', () => {
  it('clipping long texts before tokenizing keeps exactly the tokens of the full text', async () => {
    const { loadModel } = await import('../../src/model/load.js');
    const { spamDataset } = await import('../../src/data/datasets.js');
    const shipped = loadModel('aimc-enc-tiny');
    shipped.model.dispose();
    const t = shipped.tokenizer!;
    const long = spamDataset().train.filter((e) => e.text.length > 64 * 32 * 2).slice(0, 40);
    expect(long.length).toBe(40);
    for (const e of long) {
      const full = t.encode(e.text);
      const kept = encodeBatch([e], t, 64, 1);
      expect(Array.from(kept.ids)).toEqual([...full.slice(0, 63), full[full.length - 1]]);
      expect(clipText(e.text, 64).length).toBeLessThan(e.text.length);
    }
  });

  it('truncates keeping the last token and pads with the mask set', () => {
    const b = encodeBatch([{ text: 'the good film plot', doc: 'a' }, { text: 'bad', doc: 'b' }], tok, 3, 1);
    expect(b.T).toBe(3);
    expect(Array.from(b.ids)).toEqual([8, 4, 7, 5, 1, 1]);
    expect(Array.from(b.mask!)).toEqual([1, 1, 1, 1, 0, 0]);
  });
});
