import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer, type Batch } from '../../src/model/transformer.js';
import { defaultConfig, type ModelConfig } from '../../src/model/config.js';
import { createAdapter, PluginConfigError, type AttachedAdapter } from '../../src/peft/host.js';
import { builtinPluginNames, loadPlugin } from '../../src/peft/registry.js';
import { loadAdapter, saveAdapter } from '../../src/peft/state.js';
import { RandomStream } from '../../src/tensor/random.js';
import { perturb } from '../helpers/peft.js';
import { gaussianKl } from '../../plugins/stochgrasp/index.js';
import { AdamW } from '../../src/train/adamw.js';
import { relativeWeightNoise } from '../../src/crossbar/mapping.js';

// D = 18 with K = 4 groups exercises the uneven split (5, 5, 4, 4).
const D = 18;
const F = 36;
const L = 2;
const CONFIG: ModelConfig = { ...defaultConfig('encoder'), vocabSize: 30, hiddenSize: D, numHeads: 3, intermediateSize: F, numLayers: L, maxPositions: 16, numLabels: 3, dropout: 0 };
const BATCH: Batch = { ids: Int32Array.from([0, 5, 7, 9, 11, 2, 0, 6, 8, 10, 2, 1]), mask: Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]), B: 2, T: 6 };
const HEAD = D * D + D + D * 3 + 3;

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

function model(seed = 'peft'): Transformer {
  return new Transformer(CONFIG, seed);
}

function logits(m: Transformer): Float32Array {
  return tf.tidy(() => m.classify(BATCH).dataSync() as Float32Array);
}


async function attach(name: string, m: Transformer, config: unknown = {}, extra = {}): Promise<AttachedAdapter> {
  return createAdapter(m, await loadPlugin(name), config, { seed: 'test', ...extra });
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - b[i]!)), 0);

describe('plugin registry', () => {
  it('finds the seven built-ins, each with schema.json, README.md and a module', async () => {
    expect(builtinPluginNames()).toEqual(['bitfit', 'full', 'grasp', 'head', 'ia3', 'lora', 'stochgrasp']);
    for (const n of builtinPluginNames()) expect((await loadPlugin(n)).plugin.name).toBe(n);
  });

  it('refuses an unknown name, listing the built-ins', async () => {
    await expect(loadPlugin('lorra')).rejects.toThrow(/unknown adapter 'lorra'.*grasp/);
  });
});

describe('trainable-parameter counts equal each method\'s formula', () => {
  const six = 4 * D * D + D * F + F * D; // weights of the six projections of one layer
  const cases: [string, unknown, number][] = [
    ['grasp', { groups: 4 }, L * 6 * 2 * 4],
    ['stochgrasp', { groups: 4, targetStd: 0.05 }, L * 6 * 4 * 4],
    ['lora', { rank: 8 }, L * 2 * 8 * (D + D)],
    ['lora', { rank: 2, targets: ['ffn.in', 'ffn.out'] }, L * 2 * 2 * (D + F)],
    ['bitfit', {}, L * (4 * D + F + D) + L * 2 * D + D],
    ['bitfit', { layerNorm: false }, L * (4 * D + F + D)],
    ['ia3', {}, L * (D + D + F)],
    ['full', {}, 0],
    ['head', {}, 0],
  ];
  for (const [name, config, expected] of cases) {
    it(`${name} ${JSON.stringify(config)}`, async () => {
      const m = model();
      const a = await attach(name, m, config);
      const c = a.counts();
      const base = m.parameterCount() - HEAD;
      expect(c.head).toBe(HEAD);
      expect(c.base).toBe(base);
      expect(c.trainable).toBe(name === 'full' ? base : expected);
      expect(a.trainableVariables().reduce((s, v) => s + v.size, 0)).toBe(c.trainable + c.head);
      if (name === 'full') expect(base).toBeGreaterThan(L * six);
      a.dispose();
      m.dispose();
    });
  }
});

describe('adapters at initialization', () => {
  for (const name of ['grasp', 'stochgrasp', 'lora', 'ia3', 'bitfit', 'full', 'head']) {
    it(`${name} leaves the outputs unchanged`, async () => {
      const m = model();
      const before = logits(m);
      const a = await attach(name, m, name === 'stochgrasp' ? { targetStd: 0.05 } : {});
      a.adapter.beginStep?.(null);
      expect(maxAbsDiff(logits(m), before)).toBe(0);
      a.dispose();
      expect(maxAbsDiff(logits(m), before)).toBe(0);
      m.dispose();
    });
  }
});

describe('gradients reach exactly the trainable variables', () => {
  for (const name of ['grasp', 'stochgrasp', 'lora', 'ia3', 'bitfit', 'head']) {
    it(name, async () => {
      const m = model();
      const a = await attach(name, m, name === 'stochgrasp' ? { targetStd: 0.05 } : name === 'lora' ? { dropout: 0 } : {});
      const trainable = new Set(a.trainableVariables());
      const frozen = [...m.params.values()].filter((v) => !trainable.has(v));
      const frozenBefore = frozen.map((v) => v.dataSync().slice());
      const trainBefore = [...trainable].map((v) => v.dataSync().slice());
      const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
      const opt = new AdamW({ lr: 1e-2, weightDecay: 0 });
      // Two steps: LoRA's A only gets a gradient once B has moved off zero.
      for (let s = 0; s < 2; s++) {
        a.adapter.beginStep?.(new RandomStream(`g/${s}`));
        opt.minimize(() => {
          const l = tf.losses.softmaxCrossEntropy(y, m.classify(BATCH)) as tf.Scalar;
          const e = a.adapter.extraLoss?.();
          return e ? (tf.add(l, e) as tf.Scalar) : l;
        }, [...trainable], 0).dispose();
      }
      // Every trainable variable moved; every other parameter is bit-identical.
      [...trainable].forEach((v, i) => expect(maxAbsDiff(v.dataSync() as Float32Array, trainBefore[i] as Float32Array), v.name).toBeGreaterThan(0));
      frozen.forEach((v, i) => expect(maxAbsDiff(v.dataSync() as Float32Array, frozenBefore[i] as Float32Array), v.name).toBe(0));
      // And the gradient with respect to a frozen weight is not what moved it: the optimizer never saw it.
      const g = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, m.classify(BATCH)) as tf.Scalar, [...trainable]);
      expect(Object.keys(g.grads).length).toBe(trainable.size);
      Object.values(g.grads).forEach((t) => t.dispose());
      g.value.dispose();
      opt.dispose();
      a.dispose();
      m.dispose();
    });
  }
});

describe('merged placement equals digital placement', () => {
  for (const [name, config] of [
    ['grasp', { groups: 4 }],
    ['lora', { rank: 3, dropout: 0, targets: ['attn.q', 'attn.v', 'ffn.in', 'ffn.out'] }],
    ['ia3', {}],
    ['stochgrasp', { groups: 4, targetStd: 0.05 }],
  ] as [string, Record<string, unknown>][]) {
    it(name, async () => {
      const m = model();
      const dig = await attach(name, m, { ...config, placement: 'digital' });
      perturb(dig, `p/${name}`);
      dig.adapter.beginStep?.(null);
      const y1 = logits(m);
      const state = dig.adapter.state();
      const values = new Map([...state].map(([n, t]) => [n, t.clone()]));
      dig.dispose();
      const mer = await attach(name, m, { ...config, placement: 'merged' });
      mer.adapter.load(values);
      mer.adapter.beginStep?.(null);
      const y2 = logits(m);
      values.forEach((t) => t.dispose());
      const scale = y1.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      expect(maxAbsDiff(y1, y2)).toBeLessThan(1e-5 * Math.max(scale, 1) * 10);
      // The adapted model differs from the base: the comparison is not at the identity.
      mer.dispose();
      expect(maxAbsDiff(logits(m), y1)).toBeGreaterThan(100 * maxAbsDiff(y1, y2));
      m.dispose();
    });
  }
});

describe('StochGRASP noise-aware term', () => {
  it('KL(N(μ,σ²)‖N(μ,σt²)) is zero at σ = σt and larger elsewhere', () => {
    const st = 0.04;
    const sig = [0.005, 0.01, 0.02, 0.03, 0.039, 0.04, 0.041, 0.06, 0.1, 0.3];
    const kl = tf.tidy(() => gaussianKl(tf, tf.tensor1d(sig), st).dataSync());
    const at = sig.indexOf(st);
    expect(Math.abs(kl[at]!)).toBeLessThan(1e-6);
    sig.forEach((_, i) => i !== at && expect(kl[i]!).toBeGreaterThan(kl[at]!));
    // Hand value: σ = 2σt → ln(1/2) + 4/2 − 1/2 = 0.80685.
    expect(tf.tidy(() => gaussianKl(tf, tf.scalar(0.08), st).dataSync()[0]!)).toBeCloseTo(Math.log(0.5) + 1.5, 5);
  });

  for (const init of [0.005, 0.2]) {
    it(`its gradient moves σ from ${init} toward σt`, async () => {
      const m = model();
      const st = 0.04;
      const a = await attach('stochgrasp', m, { targetStd: st, initStd: init, lambda: 1 });
      const rhos = [...a.adapter.state()].filter(([n]) => n.endsWith('Rho')).map(([, v]) => v as tf.Variable);
      const sigma = () => tf.tidy(() => tf.mean(tf.softplus(rhos[0]!)).dataSync()[0]!);
      const opt = new AdamW({ lr: 0.02, weightDecay: 0 });
      const d0 = Math.abs(sigma() - st);
      for (let i = 0; i < 600; i++) opt.minimize(() => a.adapter.extraLoss!()!, rhos, 0).dispose();
      expect(Math.abs(sigma() - st)).toBeLessThan(d0 / 10);
      opt.dispose();
      a.dispose();
      m.dispose();
    });
  }

  it('takes σt from the device model at the horizon', async () => {
    const m = model();
    const a = await attach('stochgrasp', m, { device: 'pcm-nandakumar-2019', horizon: '1d', lambda: 1, initStd: 0.3 });
    const { DeviceModel } = await import('../../src/device/model.js');
    const { loadProfile } = await import('../../src/device/profile.js');
    const st = relativeWeightNoise(new DeviceModel(loadProfile('pcm-nandakumar-2019')), 86400);
    // At σ = σt the term vanishes: set every ρ there and check.
    const rho = Math.log(Math.expm1(st));
    for (const [n, v] of a.adapter.state()) if (n.endsWith('Rho')) (v as tf.Variable).assign(tf.fill(v.shape, rho));
    expect(Math.abs(a.adapter.extraLoss!()!.dataSync()[0]!)).toBeLessThan(1e-5);
    a.dispose();
    m.dispose();
  });
});

describe('plugin configs', () => {
  it('a malformed config is rejected with the schema\'s message and path', async () => {
    const m = model();
    const p = await loadPlugin('grasp');
    expect(() => createAdapter(m, p, { groups: 0 }, { source: 'cfg.json' })).toThrow(PluginConfigError);
    expect(() => createAdapter(m, p, { groups: 0 }, { source: 'cfg.json' })).toThrow(/cfg\.json: invalid config for adapter 'grasp':\n {2}\/groups: expected integer >= 1, got 0$/);
    expect(() => createAdapter(m, p, { groups: 4, placment: 'merged' })).toThrow(/\/placment: unknown property 'placment' \(did you mean 'placement'\?\)/);
    expect(() => createAdapter(m, p, { placement: 'analog' })).toThrow(/\/placement: expected one of 'digital', 'merged', got 'analog'/);
    expect(() => createAdapter(m, p, { targets: ['attn.z'] })).toThrow(/targets \["attn.z"\] match no site/);
    m.dispose();
  });

  it('defaults are filled in from the schema', async () => {
    const m = model();
    const a = await attach('lora', m, {});
    expect(a.config).toEqual({ targets: ['attn.q', 'attn.v'], rank: 8, alpha: 16, dropout: 0.1, placement: 'digital' });
    a.dispose();
    m.dispose();
  });
});

describe('adapter files', () => {
  for (const name of ['grasp', 'stochgrasp', 'lora', 'ia3', 'bitfit', 'full', 'head']) {
    it(`${name}: save → load onto a fresh base reproduces the outputs`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `aimc-adapter-${name}-`));
      const m = model();
      const a = await attach(name, m, name === 'stochgrasp' ? { targetStd: 0.05 } : {});
      perturb(a, `s/${name}`);
      // The task head is saved with the adapter.
      m.params.get('head.out.bias')!.assign(tf.tensor1d([0.3, -0.2, 0.1]));
      a.adapter.beginStep?.(null);
      const y = logits(m);
      await saveAdapter(dir, a, { baseName: 'tiny' });
      a.dispose();
      m.dispose();
      const fresh = model();
      const b = await loadAdapter(dir, fresh);
      b.adapter.beginStep?.(null);
      expect(maxAbsDiff(logits(fresh), y)).toBe(0);
      b.dispose();
      fresh.dispose();
    });
  }

  it('refuses an adapter trained on another base model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-adapter-sum-'));
    const m = model('one');
    const a = await attach('grasp', m);
    await saveAdapter(dir, a, { baseName: 'one' });
    a.dispose();
    m.dispose();
    const other = model('two');
    await expect(loadAdapter(dir, other)).rejects.toThrow(/trained on a different base model .*it names 'one'/);
    other.dispose();
  });
});

describe('a plugin from an outside folder', () => {
  it('loads by path, validates its config and trains', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-plugin-'));
    mkdirSync(join(dir, 'outscale'));
    const pdir = join(dir, 'outscale');
    // A third-party plugin in plain JavaScript: one learned gain on every ffn.out output, computed with the host's tf.
    writeFileSync(
      join(pdir, 'index.js'),
      `export default {
  name: 'outscale',
  description: 'a learned gain on the FFN output',
  create(config, ctx) {
    const tf = ctx.tf;
    const sites = ctx.selectSites({ targets: ['ffn.out'] });
    const g = tf.variable(tf.fill([1, 1], config.init));
    const hooks = new Map(sites.map((s) => [s.name, { after: (x, y) => tf.mul(y, g) }]));
    return {
      placement: 'digital', hooks,
      trainableVariables: () => [g], parameterCount: () => 1,
      state: () => new Map([['g', g]]), load: (st) => g.assign(st.get('g')), dispose: () => g.dispose(),
    };
  },
};
`,
    );
    writeFileSync(join(pdir, 'schema.json'), JSON.stringify({ type: 'object', additionalProperties: false, properties: { init: { type: 'number', default: 1 } } }));
    writeFileSync(join(pdir, 'README.md'), '# outscale\n');
    const p = await loadPlugin(pdir);
    expect(p.builtin).toBe(false);
    const m = model();
    expect(() => createAdapter(m, p, { init: 'one' })).toThrow(/\/init: expected number, got string 'one'/);
    const a = createAdapter(m, p, {});
    expect(a.counts().trainable).toBe(1);
    const g = a.adapter.trainableVariables()[0]!;
    const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
    const opt = new AdamW({ lr: 0.05, weightDecay: 0 });
    for (let i = 0; i < 5; i++) opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.classify(BATCH)) as tf.Scalar, a.trainableVariables(), 0).dispose();
    expect(g.dataSync()[0]).not.toBe(1);
    // Saved with its path, so loading finds it again.
    const out = join(dir, 'saved');
    await saveAdapter(out, a);
    const y1 = logits(m);
    a.dispose();
    m.dispose();
    const fresh = model();
    const b = await loadAdapter(out, fresh);
    expect(maxAbsDiff(logits(fresh), y1)).toBe(0);
    b.dispose();
    fresh.dispose();
    opt.dispose();
  });
});
