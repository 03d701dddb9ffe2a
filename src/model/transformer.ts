/**
 * Transformer encoder (RoBERTa architecture) and decoder (GPT-2 architecture), written for
 * tfjs on wasm: activations are [B·T, D] rank-2 tensors between layers, every projection is
 * a LinearSite, attention is one batched matmul over [B·H, T, dh] (the native kernels loop
 * the batch), LayerNorm and bias-add use aimc's fast kernels.
 *
 * Encoder (RoBERTa): word + learned position (ids offset past the padding index, as
 * RoBERTa's create_position_ids_from_input_ids) + token-type embeddings → LayerNorm →
 * dropout; post-LN layers h = LN(h + attn(h)), h = LN(h + FFN(h)) with exact (erf) GELU;
 * classification head dense → tanh → out on the first token.
 * Decoder (GPT-2): token + position embeddings; pre-LN blocks h = h + attn(LN(h)),
 * h = h + FFN(LN(h)) with tanh-approximated GELU and causal attention; final LayerNorm;
 * LM head tied to the token embedding.
 */
import * as tf from '@tensorflow/tfjs';
import { isPreLn, type ModelConfig } from './config.js';
import { createSite, type LinearSite } from './linear.js';
import { embeddingLookup, gelu, layerNorm } from '../tensor/ops.js';
import { RandomStream } from '../tensor/random.js';
import { normalTensor, uniformTensor } from '../tensor/kernels/index.js';
import { matMulT } from '../tensor/matmul-grad.js';

let modelCounter = 0;

/** A batch of token ids with its padding mask. */
export interface Batch {
  /** Token ids, row-major [B, T]. */
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding, [B, T]; omitted = all real. */
  mask?: Float32Array;
  B: number;
  T: number;
}

/** Options of one forward pass. */
export interface ForwardOptions {
  /** Training: dropout active, drawing from this stream. */
  train?: RandomStream;
  /** Transform each layer's input h[B·T, D] (layer index i) before the layer reads it: per-layer adapters. */
  layerInput?: (i: number, h: tf.Tensor2D) => tf.Tensor2D;
}

interface LayerParams {
  q: LinearSite;
  k: LinearSite;
  v: LinearSite;
  o: LinearSite;
  ffnIn: LinearSite;
  ffnOut: LinearSite;
  ln1g: tf.Variable;
  ln1b: tf.Variable;
  ln2g: tf.Variable;
  ln2b: tf.Variable;
}

/** Exact GELU (RoBERTa's "gelu"). */
const geluErf = (x: tf.Tensor): tf.Tensor => gelu(x, 'erf');

/** Tanh-approximated GELU (GPT-2's "gelu_new"). */
const geluTanh = (x: tf.Tensor): tf.Tensor => gelu(x, 'tanh');

/** Inverted dropout with a mask from a named stream. */
function dropout(x: tf.Tensor, rate: number, rng: RandomStream | undefined, name: string): tf.Tensor {
  if (!rng || rate <= 0) return x;
  const keep = tf.tidy(() => tf.div(tf.cast(tf.greaterEqual(uniformTensor(rng.child(name), x.shape), rate), 'float32'), 1 - rate));
  const y = tf.mul(x, keep);
  keep.dispose();
  return y;
}

export class Transformer {
  readonly id = `m${++modelCounter}`;
  /** Every trainable parameter by checkpoint name. */
  readonly params = new Map<string, tf.Variable>();
  /** Every Linear site in forward order. */
  readonly sites: LinearSite[] = [];
  private readonly layers: LayerParams[] = [];
  readonly tokenEmbedding: tf.Variable;
  readonly positionEmbedding: tf.Variable;
  private readonly tokenType: tf.Variable | null = null;
  private readonly embLn: [tf.Variable, tf.Variable] | null = null;
  private readonly finalLn: [tf.Variable, tf.Variable] | null = null;
  readonly headDense: LinearSite | null = null;
  readonly headOut: LinearSite | null = null;
  /** Encoder masked-LM head (RoBERTa's lm_head: dense → GELU → LayerNorm → tied decoder + bias); created on demand. */
  private mlm: { dense: LinearSite; g: tf.Variable; b: tf.Variable; bias: tf.Variable } | null = null;

  constructor(
    readonly config: ModelConfig,
    seed = 'init',
  ) {
    const c = config;
    const rng = new RandomStream(`${seed}/${c.arch}`);
    const D = c.hiddenSize;
    const enc = c.arch === 'encoder';
    this.tokenEmbedding = this.param('embed.tokens', normalTensor(rng.child('embed.tokens'), [c.vocabSize, D]), 0.02);
    const posRows = enc ? c.maxPositions + c.padTokenId + 1 : c.maxPositions;
    this.positionEmbedding = this.param('embed.positions', normalTensor(rng.child('embed.positions'), [posRows, D]), 0.02);
    if (enc) {
      this.tokenType = this.param('embed.token_type', normalTensor(rng.child('embed.token_type'), [1, D]), 0.02);
      this.embLn = [this.param('embed.ln.gamma', tf.ones([D])), this.param('embed.ln.beta', tf.zeros([D]))];
    }
    const prefix = enc ? 'encoder' : 'decoder';
    for (let i = 0; i < c.numLayers; i++) {
      const p = `${prefix}.${i}`;
      const site = (name: string, role: Parameters<typeof createSite>[1], inF: number, outF: number) =>
        this.site(createSite(`${p}.${name}`, role, inF, outF, rng.child(p), `${this.id}/`));
      this.layers.push({
        q: site('attn.q', 'attn.q', D, D),
        k: site('attn.k', 'attn.k', D, D),
        v: site('attn.v', 'attn.v', D, D),
        o: site('attn.o', 'attn.o', D, D),
        ffnIn: site('ffn.in', 'ffn.in', D, c.intermediateSize),
        ffnOut: site('ffn.out', 'ffn.out', c.intermediateSize, D),
        ln1g: this.param(`${p}.ln1.gamma`, tf.ones([D])),
        ln1b: this.param(`${p}.ln1.beta`, tf.zeros([D])),
        ln2g: this.param(`${p}.ln2.gamma`, tf.ones([D])),
        ln2b: this.param(`${p}.ln2.beta`, tf.zeros([D])),
      });
    }
    if (enc && c.numLabels > 0) {
      this.headDense = this.site(createSite('head.dense', 'head', D, D, rng.child('head'), `${this.id}/`));
      this.headOut = this.site(createSite('head.out', 'head', D, c.numLabels, rng.child('head'), `${this.id}/`));
    }
    if (isPreLn(c)) this.finalLn = [this.param('final_ln.gamma', tf.ones([D])), this.param('final_ln.beta', tf.zeros([D]))];
  }

  /** Register a parameter (scaled by `scale`), taking ownership of `init`. */
  private param(name: string, init: tf.Tensor, scale = 1): tf.Variable {
    // Inside tidy: a variable holds its own reference, so the scaled copy is released too.
    const v = tf.tidy(() => tf.variable(scale === 1 ? init : tf.mul(init, scale), true, `${this.id}/${name}`));
    init.dispose();
    this.params.set(name, v);
    return v;
  }

  private site(s: LinearSite): LinearSite {
    this.params.set(`${s.name}.weight`, s.weight);
    if (s.bias) this.params.set(`${s.name}.bias`, s.bias);
    this.sites.push(s);
    return s;
  }

  /** Trainable variables in a stable order. */
  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Total parameters. */
  parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Additive attention bias [B, 1, T|1, T]: −1e9 on padded keys (and future keys when causal). */
  private attentionBias(batch: Batch): tf.Tensor {
    const { B, T } = batch;
    return tf.tidy(() => {
      const mask = batch.mask ? tf.tensor2d(batch.mask, [B, T]) : tf.ones([B, T]);
      let bias = tf.reshape(tf.mul(tf.sub(1, mask), -1e9), [B, 1, 1, T]);
      if (this.config.arch === 'decoder') {
        const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
        bias = tf.add(bias, tf.reshape(tf.mul(tf.sub(1, causal), -1e9), [1, 1, T, T]));
      }
      return bias;
    });
  }

  /** [B·T, D] → [B·H, T, dh] */
  private heads(x: tf.Tensor2D, B: number, T: number): tf.Tensor3D {
    const { numHeads: H, hiddenSize: D } = this.config;
    return tf.reshape(tf.transpose(tf.reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]), [B * H, T, D / H]);
  }

  private attention(h: tf.Tensor2D, p: LayerParams, bias: tf.Tensor, B: number, T: number, o: ForwardOptions, name: string): tf.Tensor2D {
    const { numHeads: H, hiddenSize: D } = this.config;
    const dh = D / H;
    const q = this.heads(p.q.apply(h), B, T);
    const k = this.heads(p.k.apply(h), B, T);
    const v = this.heads(p.v.apply(h), B, T);
    const scores = tf.add(tf.reshape(tf.mul(matMulT(q, k, false, true), 1 / Math.sqrt(dh)), [B, H, T, T]), bias);
    const probs = dropout(tf.softmax(tf.reshape(scores, [B * H, T, T])), this.config.dropout, o.train, `${name}.attn.dropout`);
    const ctx = tf.matMul(probs, v);
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, D]) as tf.Tensor2D;
    return p.o.apply(merged);
  }

  private ffn(h: tf.Tensor2D, p: LayerParams): tf.Tensor2D {
    const a = this.config.activation ?? (this.config.arch === 'encoder' ? 'gelu' : 'gelu_tanh');
    const act = a === 'relu' ? tf.relu : a === 'gelu' ? geluErf : geluTanh;
    return p.ffnOut.apply(act(p.ffnIn.apply(h)) as tf.Tensor2D);
  }

  /**
   * Position ids [B·T]. Encoder: RoBERTa's create_position_ids_from_input_ids — from the ids,
   * not the attention mask: each non-pad token gets padding_idx + (its rank among the row's
   * non-pad tokens), every pad token padding_idx. Decoder: 0..T−1.
   */
  positionIds(batch: Batch): Int32Array {
    const { B, T, ids } = batch;
    const out = new Int32Array(B * T);
    const pad = this.config.padTokenId;
    for (let b = 0; b < B; b++) {
      let c = 0;
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        if (this.config.arch !== 'encoder') out[i] = t;
        else out[i] = ids[i] === pad ? pad : ++c + pad;
      }
    }
    return out;
  }

  /** Final hidden states [B·T, D]. */
  hidden(batch: Batch, o: ForwardOptions = {}): tf.Tensor2D {
    const { T } = batch;
    const c = this.config;
    const maxPos = this.positionEmbedding.shape[0]!;
    const pos = this.positionIds(batch);
    for (const p of pos) if (p >= maxPos) throw new Error(`sequence of ${T} tokens exceeds the model's ${c.maxPositions} positions`);
    for (const id of batch.ids) {
      if (id < 0 || id >= c.vocabSize) throw new Error(`token id ${id} outside the vocabulary (0..${c.vocabSize - 1})`);
    }
    let h = tf.add(embeddingLookup(this.tokenEmbedding, batch.ids), embeddingLookup(this.positionEmbedding, pos)) as tf.Tensor2D;
    if (this.tokenType) h = tf.add(h, this.tokenType) as tf.Tensor2D;
    if (this.embLn) h = layerNorm(h, this.embLn[0], this.embLn[1], c.layerNormEps);
    h = dropout(h, c.dropout, o.train, 'embed.dropout') as tf.Tensor2D;
    return this.layersForward(h, batch, o);
  }

  /** The transformer layers (and the decoder's final LayerNorm) on given inputs h[B·T, D]. */
  layersForward(input: tf.Tensor2D, batch: Pick<Batch, 'B' | 'T' | 'mask'>, o: ForwardOptions = {}): tf.Tensor2D {
    const { B, T } = batch;
    const c = this.config;
    const bias = this.attentionBias(batch as Batch);
    // Without a gradient tape nothing needs a layer's temporaries once it has run: free them
    // layer by layer (at RoBERTa-base size one forward's temporaries are ~4 GB, one layer's
    // ~0.3 GB). Under a tape tfjs keeps what the backward pass reads, but the temporaries of
    // a step are freed by the caller's tidy anyway.
    const inference = (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth === 0;
    let h = input;
    this.layers.forEach((p, i) => {
      if (!inference) {
        h = this.layer(h, p, i, bias, batch, o);
        return;
      }
      const prev = h;
      h = tf.tidy(() => this.layer(prev, p, i, bias, batch, o));
      if (prev !== input) prev.dispose();
    });
    if (inference) bias.dispose();
    if (this.finalLn) h = layerNorm(h, this.finalLn[0], this.finalLn[1], c.layerNormEps);
    return h;
  }

  /** One transformer layer on h[B·T, D] (its adapter input hook first). */
  private layer(
    input: tf.Tensor2D,
    p: LayerParams,
    i: number,
    bias: tf.Tensor,
    batch: Pick<Batch, 'B' | 'T'>,
    o: ForwardOptions,
  ): tf.Tensor2D {
    const { B, T } = batch;
    const c = this.config;
    const name = `${c.arch}.${i}`;
    let h = o.layerInput ? o.layerInput(i, input) : input;
    if (!isPreLn(c)) {
      const a = dropout(this.attention(h, p, bias, B, T, o, name), c.dropout, o.train, `${name}.attn.out.dropout`);
      h = layerNorm(tf.add(h, a) as tf.Tensor2D, p.ln1g, p.ln1b, c.layerNormEps);
      const f = dropout(this.ffn(h, p), c.dropout, o.train, `${name}.ffn.dropout`);
      h = layerNorm(tf.add(h, f) as tf.Tensor2D, p.ln2g, p.ln2b, c.layerNormEps);
    } else {
      const x = layerNorm(h, p.ln1g, p.ln1b, c.layerNormEps);
      const a = dropout(this.attention(x, p, bias, B, T, o, name), c.dropout, o.train, `${name}.attn.out.dropout`);
      h = tf.add(h, a) as tf.Tensor2D;
      const f = dropout(this.ffn(layerNorm(h, p.ln2g, p.ln2b, c.layerNormEps), p), c.dropout, o.train, `${name}.ffn.dropout`);
      h = tf.add(h, f) as tf.Tensor2D;
    }
    return h;
  }

  /** Parameters of the transformer layers only (what layersForward trains). */
  layerVariables(): tf.Variable[] {
    return [...this.params].filter(([n]) => /^(encoder|decoder)\.\d+\./.test(n) || n.startsWith('final_ln.')).map(([, v]) => v);
  }

  /** Encoder: classification logits [B, numLabels] from the first token (dense → tanh → out). */
  classify(batch: Batch, o: ForwardOptions = {}): tf.Tensor2D {
    if (!this.headDense || !this.headOut) throw new Error('this model has no classification head (numLabels = 0 or a decoder)');
    const { B, T } = batch;
    const D = this.config.hiddenSize;
    const h = this.hidden(batch, o);
    const first = tf.reshape(tf.slice(tf.reshape(h, [B, T, D]), [0, 0, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    const p = this.config.dropout;
    const dense = this.headDense.apply(dropout(first, p, o.train, 'head.dropout0') as tf.Tensor2D);
    const x = dropout(tf.tanh(dense), p, o.train, 'head.dropout1');
    return this.headOut.apply(x as tf.Tensor2D);
  }

  /**
   * Add the masked-LM head (pretraining); its parameters join `params` as mlm.* so they are
   * checkpointed, and a checkpoint holding them gets them back on load (`withMlmHead`).
   */
  withMlmHead(seed = 'mlm'): this {
    if (this.mlm || this.config.arch !== 'encoder') return this;
    const D = this.config.hiddenSize;
    const rng = new RandomStream(`${seed}/mlm`);
    const dense = createSite('mlm.dense', 'lm_head', D, D, rng, `${this.id}/`);
    this.params.set('mlm.dense.weight', dense.weight);
    this.params.set('mlm.dense.bias', dense.bias!);
    this.mlm = {
      dense,
      g: this.param('mlm.ln.gamma', tf.ones([D])),
      b: this.param('mlm.ln.beta', tf.zeros([D])),
      bias: this.param('mlm.bias', tf.zeros([this.config.vocabSize])),
    };
    return this;
  }

  /** Encoder: masked-LM logits [N, vocab] at the given flat positions of the batch. */
  /** True when the masked-LM head is present (pretrained aimc encoders). */
  hasMlmHead(): boolean {
    return this.mlm !== null;
  }

  mlmLogits(batch: Batch, positions: Int32Array, o: ForwardOptions = {}): tf.Tensor2D {
    if (!this.mlm) throw new Error('no masked-LM head (call withMlmHead())');
    const h = this.hidden(batch, o);
    const picked = embeddingLookup(h, positions);
    const x = layerNorm(geluErf(this.mlm.dense.apply(picked)) as tf.Tensor2D, this.mlm.g, this.mlm.b, this.config.layerNormEps);
    return tf.add(matMulT(x, this.tokenEmbedding, false, true), this.mlm.bias) as tf.Tensor2D;
  }

  /** Decoder: next-token logits [B·T, vocab] through the tied LM head. */
  lmLogits(batch: Batch, o: ForwardOptions = {}): tf.Tensor2D {
    if (this.config.arch !== 'decoder') throw new Error('lmLogits needs a decoder');
    return matMulT(this.hidden(batch, o), this.tokenEmbedding, false, true) as tf.Tensor2D;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
