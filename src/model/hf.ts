/**
 * Hugging Face checkpoints on local disk (what `save_pretrained` writes): config.json +
 * model.safetensors for `roberta` (RobertaModel / RobertaForSequenceClassification) and
 * `gpt2` (GPT2Model / GPT2LMHeadModel). Parameter names are accepted with or without the
 * `roberta.` / `transformer.` prefix; nn.Linear weights are stored [out, in] and transposed
 * to aimc's [in, out]; GPT-2's Conv1D weights are already [in, out], and its fused c_attn is
 * split into aimc's q, k, v sites. Pickled `.bin` checkpoints are refused.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readJsonFile } from '../input/json.js';
import { join } from 'node:path';
import { isPreLn, validateConfig, type ModelConfig } from './config.js';
import { readSafeTensors, readSafeTensorsHeader, toFloat32, writeSafeTensors } from './safetensors.js';
import { modelFromTensors } from './checkpoint.js';
import type { Transformer } from './transformer.js';

type Arr = { shape: number[]; data: Float32Array };

/** [r, c] → [c, r] */
function transpose(t: Arr): Arr {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  const d = t.data;
  // In 64×64 blocks, so reads and writes both stay in cache (4× faster at 768×3072).
  for (let i0 = 0; i0 < r; i0 += 64) {
    for (let j0 = 0; j0 < c; j0 += 64) {
      const i1 = Math.min(r, i0 + 64);
      const j1 = Math.min(c, j0 + 64);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * r + i] = d[i * c + j]!;
    }
  }
  return { shape: [c, r], data: out };
}

/** Columns [from, from+n) of a [r, c] matrix (or elements of a vector). */
function columns(t: Arr, from: number, n: number): Arr {
  if (t.shape.length === 1) return { shape: [n], data: t.data.slice(from, from + n) };
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * n);
  for (let i = 0; i < r; i++) out.set(t.data.subarray(i * c + from, i * c + from + n), i * n);
  return { shape: [r, n], data: out };
}

/** Concatenate [r, c_i] matrices (or vectors) along columns. */
function concatColumns(ts: Arr[]): Arr {
  if (ts[0]!.shape.length === 1) {
    const data = new Float32Array(ts.reduce((a, t) => a + t.data.length, 0));
    let o = 0;
    for (const t of ts) (data.set(t.data, o), (o += t.data.length));
    return { shape: [data.length], data };
  }
  const r = ts[0]!.shape[0]!;
  const c = ts.reduce((a, t) => a + t.shape[1]!, 0);
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) {
    let o = 0;
    for (const t of ts) {
      const ci = t.shape[1]!;
      out.set(t.data.subarray(i * ci, (i + 1) * ci), i * c + o);
      o += ci;
    }
  }
  return { shape: [r, c], data: out };
}

/** aimc name ↔ HF name for RoBERTa, with whether the HF tensor is an [out, in] Linear weight. */
function robertaNames(c: ModelConfig): [string, string, boolean][] {
  const rows: [string, string, boolean][] = [
    ['embed.tokens', 'embeddings.word_embeddings.weight', false],
    ['embed.positions', 'embeddings.position_embeddings.weight', false],
    ['embed.token_type', 'embeddings.token_type_embeddings.weight', false],
    ['embed.ln.gamma', 'embeddings.LayerNorm.weight', false],
    ['embed.ln.beta', 'embeddings.LayerNorm.bias', false],
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const a = `encoder.${i}`;
    const h = `encoder.layer.${i}`;
    const lin = (ours: string, theirs: string) => {
      rows.push([`${a}.${ours}.weight`, `${h}.${theirs}.weight`, true], [`${a}.${ours}.bias`, `${h}.${theirs}.bias`, false]);
    };
    lin('attn.q', 'attention.self.query');
    lin('attn.k', 'attention.self.key');
    lin('attn.v', 'attention.self.value');
    lin('attn.o', 'attention.output.dense');
    rows.push(
      [`${a}.ln1.gamma`, `${h}.attention.output.LayerNorm.weight`, false],
      [`${a}.ln1.beta`, `${h}.attention.output.LayerNorm.bias`, false],
    );
    lin('ffn.in', 'intermediate.dense');
    lin('ffn.out', 'output.dense');
    rows.push([`${a}.ln2.gamma`, `${h}.output.LayerNorm.weight`, false], [`${a}.ln2.beta`, `${h}.output.LayerNorm.bias`, false]);
  }
  if (c.numLabels > 0) {
    rows.push(
      ['head.dense.weight', 'classifier.dense.weight', true],
      ['head.dense.bias', 'classifier.dense.bias', false],
      ['head.out.weight', 'classifier.out_proj.weight', true],
      ['head.out.bias', 'classifier.out_proj.bias', false],
    );
  }
  return rows;
}

interface HfConfig {
  model_type?: string;
  [k: string]: unknown;
}

/** HF config.json → aimc ModelConfig (throws on unsupported architectures or activations). */
export function configFromHf(hf: HfConfig, hasClassifier: boolean, file: string): ModelConfig {
  const num = (k: string, d?: number): number => {
    const v = hf[k] ?? d;
    if (typeof v !== 'number') throw new Error(`${file}: ${k}: expected a number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (hf.model_type === 'roberta') {
    if (hf.hidden_act !== undefined && hf.hidden_act !== 'gelu') {
      throw new Error(`${file}: hidden_act '${String(hf.hidden_act)}' is not supported (RoBERTa uses 'gelu')`);
    }
    const pad = num('pad_token_id', 1);
    const labels = hf.id2label && typeof hf.id2label === 'object' ? Object.keys(hf.id2label).length : num('num_labels', 2);
    return validateConfig(
      {
        arch: 'encoder',
        vocabSize: num('vocab_size'),
        hiddenSize: num('hidden_size'),
        numLayers: num('num_hidden_layers'),
        numHeads: num('num_attention_heads'),
        intermediateSize: num('intermediate_size'),
        maxPositions: num('max_position_embeddings') - pad - 1,
        layerNormEps: num('layer_norm_eps', 1e-5),
        dropout: num('hidden_dropout_prob', 0.1),
        padTokenId: pad,
        numLabels: hasClassifier ? labels : 0,
      },
      file,
    );
  }
  if (hf.model_type === 'gpt2') {
    const act = hf.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new') throw new Error(`${file}: activation_function '${String(act)}' is not supported (GPT-2 uses 'gelu_new')`);
    const D = num('n_embd');
    return validateConfig(
      {
        arch: 'decoder',
        vocabSize: num('vocab_size'),
        hiddenSize: D,
        numLayers: num('n_layer'),
        numHeads: num('n_head'),
        intermediateSize: typeof hf.n_inner === 'number' ? hf.n_inner : 4 * D,
        maxPositions: num('n_positions'),
        layerNormEps: num('layer_norm_epsilon', 1e-5),
        dropout: num('resid_pdrop', 0.1),
        padTokenId: typeof hf.pad_token_id === 'number' ? hf.pad_token_id : num('eos_token_id', 0),
        numLabels: 0,
      },
      file,
    );
  }
  throw new Error(`${file}: model_type ${JSON.stringify(hf.model_type)} is not supported (expected 'roberta' or 'gpt2')`);
}

/**
 * A Hugging Face JSON file (config.json), read with the strict reader for its messages (file,
 * line, column) but with duplicated keys allowed: transformers reads these files with Python's
 * json module, which keeps the last of two equal keys without a word, so a hand-edited
 * config.json that loads there must load here too (and mean the same: JSON.parse also keeps
 * the last).
 */
const readHfJson = (file: string) => readJsonFile(file, { what: 'Hugging Face config', duplicates: 'allow' });

/** True when a directory looks like a Hugging Face checkpoint (config.json with model_type). */
export function isHuggingFaceDir(dir: string): boolean {
  const f = join(dir, 'config.json');
  if (!existsSync(f)) return false;
  try {
    return typeof (readHfJson(f).value as HfConfig | null)?.model_type === 'string';
  } catch {
    return false;
  }
}

/** A parameter name without the base model's prefix (`roberta.` / `transformer.`); heads keep theirs. */
const withoutBasePrefix = (name: string) => name.replace(/^(roberta|transformer)\./, '');
/** Present when the checkpoint has a sequence-classification head. */
const CLASSIFIER_WEIGHT = 'classifier.out_proj.weight';

/** A Hugging Face directory's config as aimc reads it, from config.json and the weights' header (no weights read). */
export function hfConfigOf(dir: string): ModelConfig {
  const cfgFile = join(dir, 'config.json');
  const stFile = join(dir, 'model.safetensors');
  if (!existsSync(stFile)) throw new Error(`${dir}: no model.safetensors`);
  const names = [...readSafeTensorsHeader(stFile).keys()].map(withoutBasePrefix);
  return configFromHf(readHfJson(cfgFile).value as HfConfig, names.includes(CLASSIFIER_WEIGHT), cfgFile);
}

/** Load a Hugging Face `roberta` or `gpt2` directory as an aimc Transformer. */
export function loadHuggingFace(dir: string): Transformer {
  const cfgFile = join(dir, 'config.json');
  const stFile = join(dir, 'model.safetensors');
  if (!existsSync(stFile)) {
    const bin = ['pytorch_model.bin', 'model.bin'].find((f) => existsSync(join(dir, f)));
    if (bin) {
      throw new Error(
        `${join(dir, bin)}: PyTorch pickle checkpoints are refused — unpickling can run arbitrary code. Convert once with ` +
          'python -c "from transformers import AutoModel; ' +
          `AutoModel.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)"`,
      );
    }
    throw new Error(`${dir}: no model.safetensors`);
  }
  const hf = readHfJson(cfgFile).value as HfConfig;
  const st = readSafeTensors(readFileSync(stFile), stFile);
  // Strip the base-model prefix, keep heads as they are.
  const raw = new Map<string, Arr>();
  for (const [name, t] of st.tensors) {
    const key = withoutBasePrefix(name);
    raw.set(key, { shape: t.shape, data: toFloat32(t, name, stFile) });
  }
  const config = configFromHf(hf, raw.has(CLASSIFIER_WEIGHT), cfgFile);
  const mapped = new Map<string, Arr>();
  if (config.arch === 'encoder') {
    for (const [ours, theirs, linear] of robertaNames(config)) {
      const t = raw.get(theirs);
      if (t) mapped.set(ours, linear ? transpose(t) : t);
    }
  } else {
    const D = config.hiddenSize;
    const put = (ours: string, theirs: string) => {
      const t = raw.get(theirs);
      if (t) mapped.set(ours, t);
    };
    put('embed.tokens', 'wte.weight');
    put('embed.positions', 'wpe.weight');
    for (let i = 0; i < config.numLayers; i++) {
      const a = `decoder.${i}`;
      const h = `h.${i}`;
      put(`${a}.ln1.gamma`, `${h}.ln_1.weight`);
      put(`${a}.ln1.beta`, `${h}.ln_1.bias`);
      const w = raw.get(`${h}.attn.c_attn.weight`);
      const b = raw.get(`${h}.attn.c_attn.bias`);
      ['q', 'k', 'v'].forEach((s, j) => {
        if (w) mapped.set(`${a}.attn.${s}.weight`, columns(w, j * D, D));
        if (b) mapped.set(`${a}.attn.${s}.bias`, columns(b, j * D, D));
      });
      put(`${a}.attn.o.weight`, `${h}.attn.c_proj.weight`);
      put(`${a}.attn.o.bias`, `${h}.attn.c_proj.bias`);
      put(`${a}.ln2.gamma`, `${h}.ln_2.weight`);
      put(`${a}.ln2.beta`, `${h}.ln_2.bias`);
      put(`${a}.ffn.in.weight`, `${h}.mlp.c_fc.weight`);
      put(`${a}.ffn.in.bias`, `${h}.mlp.c_fc.bias`);
      put(`${a}.ffn.out.weight`, `${h}.mlp.c_proj.weight`);
      put(`${a}.ffn.out.bias`, `${h}.mlp.c_proj.bias`);
    }
    put('final_ln.gamma', 'ln_f.weight');
    put('final_ln.beta', 'ln_f.bias');
  }
  // Buffers and heads aimc does not use are listed, not silently dropped.
  const used = new Set<string>();
  if (config.arch === 'encoder') for (const [, theirs] of robertaNames(config)) used.add(theirs);
  const ignorable = /^(embeddings\.position_ids|pooler\.|lm_head\.|h\.\d+\.attn\.(masked_)?bias$)/;
  const unused = [...raw.keys()].filter((k) => {
    if (ignorable.test(k)) return false;
    if (config.arch === 'encoder') return !used.has(k);
    return !/^(wte|wpe|ln_f)\.|^h\.\d+\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\./.test(k);
  });
  if (unused.length) {
    const names = `${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ', …' : ''}`;
    throw new Error(`${stFile}: parameters aimc does not know how to place: ${names}`);
  }
  return modelFromTensors(config, (n) => mapped.get(n), mapped.keys(), stFile);
}

/** Write a model as a Hugging Face directory (config.json + model.safetensors), HF names and layouts. */
export async function saveHuggingFace(model: Transformer, dir: string): Promise<void> {
  if (model.config.arch === 'encoder' && isPreLn(model.config)) {
    throw new Error('a pre-LayerNorm encoder has no Hugging Face RoBERTa equivalent (RoBERTa is post-LN); keep it as an aimc checkpoint');
  }
  mkdirSync(dir, { recursive: true });
  const c = model.config;
  const get = async (n: string): Promise<Arr> => {
    const v = model.params.get(n)!;
    return { shape: v.shape, data: (await v.data()) as Float32Array };
  };
  const out = new Map<string, Arr>();
  let hfConfig: Record<string, unknown>;
  if (c.arch === 'encoder') {
    for (const [ours, theirs, linear] of robertaNames(c)) {
      const t = await get(ours);
      out.set(`${c.numLabels > 0 && theirs.startsWith('classifier.') ? '' : 'roberta.'}${theirs}`, linear ? transpose(t) : t);
    }
    hfConfig = {
      model_type: 'roberta',
      architectures: [c.numLabels > 0 ? 'RobertaForSequenceClassification' : 'RobertaModel'],
      vocab_size: c.vocabSize,
      hidden_size: c.hiddenSize,
      num_hidden_layers: c.numLayers,
      num_attention_heads: c.numHeads,
      intermediate_size: c.intermediateSize,
      max_position_embeddings: c.maxPositions + c.padTokenId + 1,
      layer_norm_eps: c.layerNormEps,
      hidden_dropout_prob: c.dropout,
      attention_probs_dropout_prob: c.dropout,
      hidden_act: 'gelu',
      pad_token_id: c.padTokenId,
      type_vocab_size: 1,
      id2label: Object.fromEntries(Array.from({ length: Math.max(c.numLabels, 1) }, (_, i) => [String(i), `LABEL_${i}`])),
    };
  } else {
    const p = (n: string) => `transformer.${n}`;
    out.set(p('wte.weight'), await get('embed.tokens'));
    out.set(p('wpe.weight'), await get('embed.positions'));
    for (let i = 0; i < c.numLayers; i++) {
      const a = `decoder.${i}`;
      const h = `h.${i}`;
      out.set(p(`${h}.ln_1.weight`), await get(`${a}.ln1.gamma`));
      out.set(p(`${h}.ln_1.bias`), await get(`${a}.ln1.beta`));
      out.set(p(`${h}.attn.c_attn.weight`), concatColumns(await Promise.all(['q', 'k', 'v'].map((s) => get(`${a}.attn.${s}.weight`)))));
      out.set(p(`${h}.attn.c_attn.bias`), concatColumns(await Promise.all(['q', 'k', 'v'].map((s) => get(`${a}.attn.${s}.bias`)))));
      out.set(p(`${h}.attn.c_proj.weight`), await get(`${a}.attn.o.weight`));
      out.set(p(`${h}.attn.c_proj.bias`), await get(`${a}.attn.o.bias`));
      out.set(p(`${h}.ln_2.weight`), await get(`${a}.ln2.gamma`));
      out.set(p(`${h}.ln_2.bias`), await get(`${a}.ln2.beta`));
      out.set(p(`${h}.mlp.c_fc.weight`), await get(`${a}.ffn.in.weight`));
      out.set(p(`${h}.mlp.c_fc.bias`), await get(`${a}.ffn.in.bias`));
      out.set(p(`${h}.mlp.c_proj.weight`), await get(`${a}.ffn.out.weight`));
      out.set(p(`${h}.mlp.c_proj.bias`), await get(`${a}.ffn.out.bias`));
    }
    out.set(p('ln_f.weight'), await get('final_ln.gamma'));
    out.set(p('ln_f.bias'), await get('final_ln.beta'));
    hfConfig = {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      vocab_size: c.vocabSize,
      n_embd: c.hiddenSize,
      n_layer: c.numLayers,
      n_head: c.numHeads,
      n_inner: c.intermediateSize,
      n_positions: c.maxPositions,
      layer_norm_epsilon: c.layerNormEps,
      resid_pdrop: c.dropout,
      embd_pdrop: c.dropout,
      attn_pdrop: c.dropout,
      activation_function: 'gelu_new',
      pad_token_id: c.padTokenId,
      tie_word_embeddings: true,
    };
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig, null, 2) + '\n');
  writeFileSync(join(dir, 'model.safetensors'), writeSafeTensors(out, { format: 'pt' }));
}
