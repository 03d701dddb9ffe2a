import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer, type Batch } from '../../src/model/transformer.js';
import { defaultConfig, type ModelConfig } from '../../src/model/config.js';
import { createAdapter, type AttachedAdapter } from '../../src/peft/host.js';
import { loadPlugin } from '../../src/peft/registry.js';
import { loadAdapter, saveAdapter } from '../../src/peft/state.js';
import { readSafeTensors, writeSafeTensors, toFloat32 } from '../../src/model/safetensors.js';
import { RandomStream } from '../../src/tensor/random.js';
import { perturb } from '../helpers/peft.js';
import { featureGroups, groupSizes, randomPermutation } from '../../src/peft/grouping.js';

const D = 18;
const CONFIG: ModelConfig = { ...defaultConfig('encoder'), vocabSize: 30, hiddenSize: D, numHeads: 3, intermediateSize: 36, numLayers: 2, maxPositions: 16, numLabels: 3, dropout: 0 };
const BATCH: Batch = { ids: Int32Array.from([0, 5, 7, 9, 11, 2, 0, 6, 8, 10, 2, 1]), mask: Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]), B: 2, T: 6 };

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

const logits = (m: Transformer) => tf.tidy(() => m.classify(BATCH).dataSync() as Float32Array);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - b[i]!)), 0);

async function attach(name: string, m: Transformer, config: unknown, seed = 'test'): Promise<AttachedAdapter> {
  return createAdapter(m, await loadPlugin(name), config, { seed });
}


describe('contiguous grouping', () => {
  it('group sizes differ by at most one (array_split), K > D refused', () => {
    expect(groupSizes(18, 4)).toEqual([5, 5, 4, 4]);
    expect(groupSizes(16, 4)).toEqual([4, 4, 4, 4]);
    expect(() => groupSizes(3, 4)).toThrow(/K = 4 exceeds the 3 input features/);
  });

  it('features in order, group by group', () => {
    expect(Array.from(featureGroups(7, 3, null))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });
});

describe('permuted grouping', () => {
  for (const [Dn, K] of [[18, 4], [64, 8], [7, 7], [100, 3]] as const) {
    it(`D = ${Dn}, K = ${K}: a permutation of the channels, group sizes as array_split, feature perm[i] in group i mod K`, () => {
      const perm = randomPermutation(Dn, new RandomStream(`g/${Dn}/${K}`));
      expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: Dn }, (_, i) => i));
      const groups = featureGroups(Dn, K, perm);
      const sizes = Array.from({ length: K }, (_, g) => groups.filter((x) => x === g).length);
      expect(sizes.sort((a, b) => b - a)).toEqual(groupSizes(Dn, K).sort((a, b) => b - a));
      for (let i = 0; i < Dn; i++) expect(groups[perm[i]!]).toBe(i % K);
    });
  }

  it('is seeded: the same stream gives the same permutation, another stream another; groups are not contiguous', () => {
    const a = randomPermutation(64, new RandomStream('x'));
    expect(Array.from(randomPermutation(64, new RandomStream('x')))).toEqual(Array.from(a));
    expect(Array.from(randomPermutation(64, new RandomStream('y')))).not.toEqual(Array.from(a));
    const g = featureGroups(64, 8, a);
    // Contiguous groups change value 7 times along the features; a random assignment far more often.
    let changes = 0;
    for (let i = 1; i < 64; i++) if (g[i] !== g[i - 1]) changes++;
    expect(changes).toBeGreaterThan(30);
  });

  for (const name of ['grasp', 'stochgrasp']) {
    it(`${name}: permuted differs from contiguous, merged equals digital, and the parameter count is unchanged`, async () => {
      const extra = name === 'stochgrasp' ? { targetStd: 0.05 } : {};
      const m = new Transformer(CONFIG, 'grp');
      const out: Float32Array[] = [];
      const counts: number[] = [];
      let mergedDiff = Infinity;
      for (const grouping of ['contiguous', 'permuted']) {
        const a = await attach(name, m, { groups: 4, grouping, ...extra });
        counts.push(a.adapter.parameterCount());
        // The same variable values under both groupings: only the channel assignment differs.
        perturb(a, 'same');
        a.adapter.beginStep?.(null);
        out.push(logits(m));
        if (grouping === 'permuted') {
          const st = new Map([...a.adapter.state()].map(([n, t]) => [n, t.clone()]));
          a.dispose();
          const merged = await attach(name, m, { groups: 4, grouping, placement: 'merged', ...extra }, 'another-seed');
          merged.adapter.load(st);
          merged.adapter.beginStep?.(null);
          mergedDiff = maxAbsDiff(logits(m), out[1]!);
          expect(mergedDiff).toBeLessThan(1e-4);
          st.forEach((t) => t.dispose());
          merged.dispose();
        } else a.dispose();
      }
      expect(counts[0]).toBe(counts[1]);
      // The groupings compute different functions, by far more than merged and digital differ.
      expect(maxAbsDiff(out[0]!, out[1]!)).toBeGreaterThan(20 * mergedDiff);
      m.dispose();
    });
  }

  it('the permutation is saved with the adapter: loading under another seed reproduces the outputs exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-grasp-perm-'));
    const m = new Transformer(CONFIG, 'grp');
    const a = await attach('grasp', m, { groups: 4, grouping: 'permuted' }, 'trained-with');
    perturb(a, 'p');
    const y = logits(m);
    await saveAdapter(dir, a, { baseName: 'tiny' });
    a.dispose();
    m.dispose();
    const st = readSafeTensors(new Uint8Array(readFileSync(join(dir, 'adapter.safetensors'))), 'adapter.safetensors');
    expect([...st.tensors.keys()].filter((k) => k.endsWith('.permutation')).length).toBe(2 * 6);
    const fresh = new Transformer(CONFIG, 'grp');
    const loaded = await loadAdapter(dir, fresh, { seed: 'loaded-with' });
    expect(maxAbsDiff(logits(fresh), y)).toBe(0);
    loaded.dispose();
    fresh.dispose();
  });

  it('a tampered permutation (a channel twice) is refused, naming the tensor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-grasp-perm-bad-'));
    const m = new Transformer(CONFIG, 'grp');
    const a = await attach('grasp', m, { groups: 4, grouping: 'permuted' });
    await saveAdapter(dir, a, { baseName: 'tiny' });
    a.dispose();
    const file = join(dir, 'adapter.safetensors');
    const st = readSafeTensors(new Uint8Array(readFileSync(file)), file);
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of st.tensors) tensors.set(k, { shape: t.shape, data: toFloat32(t, k, file) });
    const name = [...tensors.keys()].find((k) => k.endsWith('.permutation'))!;
    tensors.get(name)!.data[1] = tensors.get(name)!.data[0]!;
    writeFileSync(file, writeSafeTensors(tensors, st.metadata));
    await expect(loadAdapter(dir, m)).rejects.toThrow(/permutation.*not a permutation of 0…17/);
    m.dispose();
  });
});
