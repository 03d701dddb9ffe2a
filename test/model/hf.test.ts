import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/tensor/backend.js';
import { loadHuggingFace, saveHuggingFace } from '../../src/model/hf.js';
import { writeSafeTensors } from '../../src/model/safetensors.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { RandomStream } from '../../src/tensor/random.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

const tmp = () => mkdtempSync(join(tmpdir(), 'aimc-hf-'));
const rnd = (rng: RandomStream, shape: number[]) => ({ shape, data: rng.normal(new Float32Array(shape.reduce((a, b) => a * b, 1))).map((v) => v * 0.05) });

/** Write an HF directory by hand: HF names, nn.Linear weights [out, in] (RoBERTa) or Conv1D [in, out] (GPT-2). */
function writeHfFixture(kind: 'roberta' | 'gpt2', withPrefix: boolean): { dir: string; t: Map<string, { shape: number[]; data: Float32Array }> } {
  const dir = tmp();
  const rng = new RandomStream(`hf-fixture/${kind}`);
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  const V = 30, D = 8, F = 16, L = 2;
  if (kind === 'roberta') {
    const P = withPrefix ? 'roberta.' : '';
    t.set(`${P}embeddings.word_embeddings.weight`, rnd(rng, [V, D]));
    t.set(`${P}embeddings.position_embeddings.weight`, rnd(rng, [12, D]));
    t.set(`${P}embeddings.token_type_embeddings.weight`, rnd(rng, [1, D]));
    t.set(`${P}embeddings.LayerNorm.weight`, rnd(rng, [D]));
    t.set(`${P}embeddings.LayerNorm.bias`, rnd(rng, [D]));
    for (let i = 0; i < L; i++) {
      const h = `${P}encoder.layer.${i}.`;
      for (const [n, o, inn] of [['attention.self.query', D, D], ['attention.self.key', D, D], ['attention.self.value', D, D], ['attention.output.dense', D, D], ['intermediate.dense', F, D], ['output.dense', D, F]] as const) {
        t.set(`${h}${n}.weight`, rnd(rng, [o, inn]));
        t.set(`${h}${n}.bias`, rnd(rng, [o]));
      }
      for (const n of ['attention.output.LayerNorm', 'output.LayerNorm']) {
        t.set(`${h}${n}.weight`, rnd(rng, [D]));
        t.set(`${h}${n}.bias`, rnd(rng, [D]));
      }
    }
    t.set('classifier.dense.weight', rnd(rng, [D, D]));
    t.set('classifier.dense.bias', rnd(rng, [D]));
    t.set('classifier.out_proj.weight', rnd(rng, [3, D]));
    t.set('classifier.out_proj.bias', rnd(rng, [3]));
    t.set(`${P}pooler.dense.weight`, rnd(rng, [D, D]));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'roberta', vocab_size: V, hidden_size: D, num_hidden_layers: L, num_attention_heads: 2, intermediate_size: F, max_position_embeddings: 12, layer_norm_eps: 1e-5, pad_token_id: 1, hidden_act: 'gelu', id2label: { 0: 'a', 1: 'b', 2: 'c' } }));
  } else {
    const P = withPrefix ? 'transformer.' : '';
    t.set(`${P}wte.weight`, rnd(rng, [V, D]));
    t.set(`${P}wpe.weight`, rnd(rng, [10, D]));
    for (let i = 0; i < L; i++) {
      const h = `${P}h.${i}.`;
      t.set(`${h}ln_1.weight`, rnd(rng, [D]));
      t.set(`${h}ln_1.bias`, rnd(rng, [D]));
      t.set(`${h}attn.c_attn.weight`, rnd(rng, [D, 3 * D]));
      t.set(`${h}attn.c_attn.bias`, rnd(rng, [3 * D]));
      t.set(`${h}attn.c_proj.weight`, rnd(rng, [D, D]));
      t.set(`${h}attn.c_proj.bias`, rnd(rng, [D]));
      t.set(`${h}ln_2.weight`, rnd(rng, [D]));
      t.set(`${h}ln_2.bias`, rnd(rng, [D]));
      t.set(`${h}mlp.c_fc.weight`, rnd(rng, [D, F]));
      t.set(`${h}mlp.c_fc.bias`, rnd(rng, [F]));
      t.set(`${h}mlp.c_proj.weight`, rnd(rng, [F, D]));
      t.set(`${h}mlp.c_proj.bias`, rnd(rng, [D]));
      t.set(`${h}attn.bias`, rnd(rng, [1, 1, 10, 10]));
    }
    t.set(`${P}ln_f.weight`, rnd(rng, [D]));
    t.set(`${P}ln_f.bias`, rnd(rng, [D]));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', vocab_size: V, n_embd: D, n_layer: L, n_head: 2, n_inner: F, n_positions: 10, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' }));
  }
  writeFileSync(join(dir, 'model.safetensors'), writeSafeTensors(t));
  return { dir, t };
}

const arr = (v: tf.Tensor) => Array.from(v.dataSync());
const T = (x: { shape: number[]; data: Float32Array }) => arr(tf.transpose(tf.tensor(x.data, x.shape)));

describe('Hugging Face import', () => {
  for (const withPrefix of [true, false]) {
    it(`roberta (${withPrefix ? 'with' : 'without'} the roberta. prefix): [out,in] Linear weights are transposed, the classifier head is found`, () => {
      const { dir, t } = writeHfFixture('roberta', withPrefix);
      const P = withPrefix ? 'roberta.' : '';
      const m = loadHuggingFace(dir);
      expect(m.config.arch).toBe('encoder');
      expect(m.config.numLabels).toBe(3);
      expect(m.config.maxPositions).toBe(10);
      expect(arr(m.params.get('encoder.1.attn.q.weight')!)).toEqual(T(t.get(`${P}encoder.layer.1.attention.self.query.weight`)!));
      expect(arr(m.params.get('encoder.0.ffn.in.weight')!)).toEqual(T(t.get(`${P}encoder.layer.0.intermediate.dense.weight`)!));
      expect(arr(m.params.get('head.out.weight')!)).toEqual(T(t.get('classifier.out_proj.weight')!));
      expect(arr(m.params.get('embed.tokens')!)).toEqual(Array.from(t.get(`${P}embeddings.word_embeddings.weight`)!.data));
      m.dispose();
    });
  }

  it("gpt2: Conv1D weights are not transposed and c_attn is split into q, k, v", () => {
    const { dir, t } = writeHfFixture('gpt2', true);
    const m = loadHuggingFace(dir);
    expect(m.config.arch).toBe('decoder');
    const cAttn = t.get('transformer.h.0.attn.c_attn.weight')!;
    const k = tf.slice(tf.tensor(cAttn.data, cAttn.shape), [0, 8], [8, 8]);
    expect(arr(m.params.get('decoder.0.attn.k.weight')!)).toEqual(arr(k));
    expect(arr(m.params.get('decoder.1.ffn.in.weight')!)).toEqual(Array.from(t.get('transformer.h.1.mlp.c_fc.weight')!.data));
    m.dispose();
  });

  for (const arch of ['encoder', 'decoder'] as const) {
    it(`${arch}: an exported HF directory imports to identical logits`, async () => {
      const cfg = { ...defaultConfig(arch), vocabSize: 40, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 12, dropout: 0 };
      const m = new Transformer(cfg, 'export');
      const dir = tmp();
      await saveHuggingFace(m, dir);
      const n = loadHuggingFace(dir);
      const b = { ids: Int32Array.of(0, 7, 8, 9, 2), B: 1, T: 5 };
      const a = arch === 'encoder' ? m.classify(b) : m.lmLogits(b);
      const c = arch === 'encoder' ? n.classify(b) : n.lmLogits(b);
      expect(arr(c)).toEqual(arr(a));
      m.dispose();
      n.dispose();
    });
  }

  it('refuses pickled .bin checkpoints, saying why and how to convert', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    writeFileSync(join(dir, 'pytorch_model.bin'), 'PK');
    expect(() => loadHuggingFace(dir)).toThrow(/pytorch_model.bin: PyTorch pickle checkpoints are refused — unpickling can run arbitrary code. Convert once with python -c .*safe_serialization=True/);
  });

  it('refuses unknown architectures and parameters it cannot place', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
    writeFileSync(join(dir, 'model.safetensors'), writeSafeTensors(new Map()));
    expect(() => loadHuggingFace(dir)).toThrow(/model_type "bert" is not supported \(expected 'roberta' or 'gpt2'\)/);
    const { dir: d2, t } = writeHfFixture('gpt2', true);
    t.set('transformer.h.0.attn.extra.weight', { shape: [1], data: Float32Array.of(1) });
    writeFileSync(join(d2, 'model.safetensors'), writeSafeTensors(t));
    expect(() => loadHuggingFace(d2)).toThrow(/parameters aimc does not know how to place: h.0.attn.extra.weight/);
  });
});
