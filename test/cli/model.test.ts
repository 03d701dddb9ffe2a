import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, wordLevelTokenizer } from '../helpers/cli.js';
import { Transformer } from '../../src/model/transformer.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { saveHuggingFace } from '../../src/model/hf.js';
import { defaultConfig } from '../../src/model/config.js';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';


const TOKENIZER = wordLevelTokenizer(['hello', 'world']);

let encDir = '';
let hfDir = '';
beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  const cfg = { ...defaultConfig('encoder'), vocabSize: 20, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 12, numLabels: 3 };
  const m = new Transformer(cfg, 'cli');
  encDir = mkdtempSync(join(tmpdir(), 'aimc-cli-enc-'));
  await saveCheckpoint(m, encDir);
  writeFileSync(join(encDir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
  hfDir = mkdtempSync(join(tmpdir(), 'aimc-cli-hf-'));
  const d = new Transformer({ ...defaultConfig('decoder'), vocabSize: 20, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 12 }, 'cli-dec');
  await saveHuggingFace(d, hfDir);
  m.dispose();
  d.dispose();
});

describe('aimc model', () => {
  it('run --text tokenizes with the stored tokenizer.json: same logits as the ids', async () => {
    const a = await cli('model', 'run', encDir, '--text', 'hello world', '--json');
    const b = await cli('model', 'run', encDir, '--ids', '4,5', '--json');
    expect(a.code).toBe(0);
    const la = (JSON.parse(a.out) as { logits: number[] }).logits;
    expect(la).toHaveLength(3);
    expect(la).toEqual((JSON.parse(b.out) as { logits: number[] }).logits);
  });

  it('run --ids on an encoder masks pad ids as a tokenizer would: right padding leaves the logits unchanged', async () => {
    // Hugging Face's RoBERTa with the tokenizer's attention_mask and position ids from the ids
    // (pads at padding_idx) gives right-padded input the unpadded input's logits: the
    // expected values, whatever the forward computes.
    // Weights ×25 (std 0.5): at the 0.02 initialization the logits barely depend on the input.
    const strong = new Transformer({ ...defaultConfig('encoder'), vocabSize: 20, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 12, numLabels: 3 }, 'cli-pad');
    for (const v of strong.params.values()) if (v.rank === 2) v.assign(tf.mul(v, 25));
    const dir = mkdtempSync(join(tmpdir(), 'aimc-cli-pad-'));
    await saveCheckpoint(strong, dir);
    strong.dispose();
    const plain = await cli('model', 'run', dir, '--ids', '0,4,5,2', '--json');
    const padded = await cli('model', 'run', dir, '--ids', '0,4,5,2,1,1,1', '--json');
    expect(padded.code).toBe(0);
    const a = (JSON.parse(plain.out) as { logits: number[] }).logits;
    const b = (JSON.parse(padded.out) as { logits: number[] }).logits;
    b.forEach((v, i) => expect(Math.abs(v - a[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(a[i]!))));
    // Not a vacuous check: a non-pad token in place of the pads does change them.
    const other = (JSON.parse((await cli('model', 'run', dir, '--ids', '0,4,5,2,3,3,3', '--json')).out) as { logits: number[] }).logits;
    expect(Math.max(...other.map((v, i) => Math.abs(v - a[i]!)))).toBeGreaterThan(1e-2);
  });

  it('run on a Hugging Face gpt2 directory gives next-token logits over the vocabulary', async () => {
    const r = await cli('model', 'run', hfDir, '--ids', '3,4,5', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { logits: number[] }).logits).toHaveLength(20);
  });

  it('init refuses an unknown preset, naming the known ones', async () => {
    const r = await cli('model', 'init', 'bert-huge', '--out', join(tmpdir(), 'aimc-init-none'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/unknown preset 'bert-huge' \(known: roberta-base, roberta-large, gpt2, gpt2-medium, gpt2-large; or --arch and --size\)/);
    expect((await cli('model', 'init', '--arch', 'roberta', '--size', 'medium', '--out', join(tmpdir(), 'aimc-init-none'))).err).toMatch(/--size: roberta has no size 'medium' \(expected tiny, base, large\)/);
    expect((await cli('model', 'init', '--arch', 'bert', '--size', 'base', '--out', join(tmpdir(), 'aimc-init-none'))).err).toMatch(/--arch: unknown architecture 'bert'/);
    expect((await cli('model', 'init', '--arch', 'gpt2', '--size', 'tiny', '--labels', '3', '--out', join(tmpdir(), 'aimc-init-none'))).err).toMatch(/--labels: a decoder has no classification head/);
  });

  it('init --arch --size writes an aimc checkpoint, or with --hf the same model in Hugging Face layout', async () => {
    const root = mkdtempSync(join(tmpdir(), 'aimc-init-'));
    const args = ['model', 'init', '--arch', 'roberta', '--size', 'tiny', '--labels', '3', '--vocab-from', join(process.cwd(), 'models', 'aimc-enc-tiny', 'tokenizer.json'), '--seed', 'i'];
    const a = await cli(...args, '--out', join(root, 'aimc'));
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/roberta-tiny \(\d+\.\d M parameters, random weights, seed 'i', aimc checkpoint\)/);
    const h = await cli(...args, '--hf', '--out', join(root, 'hf'));
    expect(h.code, h.err).toBe(0);
    const hfConfig = JSON.parse(readFileSync(join(root, 'hf', 'config.json'), 'utf8')) as { model_type: string; vocab_size: number; hidden_size: number; num_labels?: number; id2label?: object };
    expect(hfConfig.model_type).toBe('roberta');
    expect(hfConfig.vocab_size).toBe(4096); // the tokenizer's
    expect(hfConfig.hidden_size).toBe(128);
    const aimcConfig = JSON.parse(readFileSync(join(root, 'aimc', 'config.json'), 'utf8')) as { numLabels: number; vocabSize: number };
    expect(aimcConfig).toMatchObject({ numLabels: 3, vocabSize: 4096 });
    // The same seeded weights through both layouts: equal logits.
    const run = async (d: string) => JSON.parse((await cli('model', 'run', join(root, d), '--ids', '0,7,99,2', '--json')).out) as { logits: number[] };
    const [la, lh] = [await run('aimc'), await run('hf')];
    expect(la.logits).toHaveLength(3);
    la.logits.forEach((v, i) => expect(Math.abs(v - lh.logits[i]!)).toBeLessThan(1e-5));
  });

  it('info counts parameters per role and lists the sites', async () => {
    const r = await cli('model', 'info', encDir, '--json');
    const info = JSON.parse(r.out) as { parameters: number; parametersByRole: Record<string, number>; sites: { name: string }[] };
    expect(Object.values(info.parametersByRole).reduce((a, b) => a + b, 0)).toBe(info.parameters);
    expect(info.sites.map((s) => s.name)).toContain('encoder.1.ffn.out');
  });

  it('map counts tiles on a device', async () => {
    const r = await cli('model', 'map', encDir, '--device', 'pcm-hermes-2023', '--json');
    const m = JSON.parse(r.out) as { totalTiles: number; sites: { tiles: number }[]; analogParameters: number };
    // 2 layers × 6 attention/FFN sites, each fits one 256×256 tile.
    expect(m.sites).toHaveLength(12);
    expect(m.totalTiles).toBe(12);
    expect(m.analogParameters).toBe(2 * (4 * 16 * 16 + 2 * 16 * 32));
  });

  it("map's energy and latency per token follow the profile's cost constants", async () => {
    const r = await cli('model', 'map', encDir, '--device', 'pcm-hermes-2023', '--json');
    const m = JSON.parse(r.out) as { energyPjPerToken: number; latencyNsPerToken: number; utilization: number; sites: { in: number; out: number; energyPj: number }[] };
    const p = JSON.parse(readFileSync(join(process.cwd(), 'devices', 'pcm-hermes-2023.json'), 'utf8')) as { cost: Record<string, number> };
    // One 256×256 tile per site: each input converted once, each output once, and every
    // weight read on 2 polarities × 2 devices.
    for (const s of m.sites) expect(s.energyPj).toBeCloseTo(s.in * p.cost.dacEnergy! + s.out * p.cost.adcEnergy! + s.in * s.out * 4 * p.cost.cellReadEnergy!, 6);
    expect(m.energyPjPerToken).toBeCloseTo(m.sites.reduce((a, s) => a + s.energyPj, 0), 6);
    expect(m.latencyNsPerToken).toBe(12 * p.cost.mvmLatency!);
    expect(m.utilization).toBeCloseTo((2 * (4 * 16 * 16 + 2 * 16 * 32)) / (12 * 256 * 256), 12);
  });

  it('errors name the problem', async () => {
    expect((await cli('model', 'run', encDir)).err).toMatch(/give exactly one of --text or --ids/);
    expect((await cli('model', 'info', 'no-such-model')).err).toMatch(/unknown model 'no-such-model'/);
    expect((await cli('model', 'run', encDir, '--ids', '4,x')).err).toMatch(/--ids: 'x' is not an integer in \[0, 19\]/);
  });
});

import { wasmHeapWarning } from '../../src/cli/common.js';
import { MODEL_PRESETS } from '../../src/model/presets.js';
import { nativeAddon } from '../../src/tensor/kernels/index.js';

describe('automatic backend for a model', () => {
  /** A Hugging Face directory of a preset's sizes: config.json and a header-only safetensors (no weights needed to decide). */
  const fakeHf = (preset: string): string => {
    const c = MODEL_PRESETS[preset]!;
    const dir = mkdtempSync(join(tmpdir(), 'aimc-choice-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'roberta', vocab_size: c.vocabSize, hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, intermediate_size: c.intermediateSize, max_position_embeddings: c.maxPositions + 2, pad_token_id: 1, layer_norm_eps: 1e-5, hidden_act: 'gelu' }));
    const header = Buffer.from(JSON.stringify({ 'roberta.embeddings.word_embeddings.weight': { dtype: 'F32', shape: [c.vocabSize, c.hiddenSize], data_offsets: [0, 4] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, header]));
    return dir;
  };

  it('warns when work on wasm will not fit its heap: RoBERTa-base at 8 × 128 (wasm aborts there), not at 2 × 32 or for a small model', () => {
    expect(wasmHeapWarning(encDir, 16, 128)).toBeUndefined();
    const base = fakeHf('roberta-base');
    const w = wasmHeapWarning(base, 8, 128);
    expect(w).toMatch(/^warning: 124\.1 M parameters at 8 × 128 tokens need ~\d+\.\d GB, more than wasm's 4 GB heap, and may abort; /);
    expect(w).toMatch(nativeAddon() ? /--backend aimc has no such ceiling$/ : /needs the native kernels/);
    expect(wasmHeapWarning(base, 2, 32)).toBeUndefined();
  });
});
