/** Model configuration (the `config.json` of an aimc checkpoint). */

export interface ModelConfig {
  /** encoder: RoBERTa architecture; decoder: GPT-2 architecture. */
  arch: 'encoder' | 'decoder';
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** FFN inner size. */
  intermediateSize: number;
  /** Learned positions (encoder: excluding RoBERTa's padding offset). */
  maxPositions: number;
  layerNormEps: number;
  /** Dropout on embeddings, attention probabilities and residual branches (training only). */
  dropout: number;
  /** Padding token id (RoBERTa: 1; GPT-2 has none — use any id, masks decide). */
  padTokenId: number;
  /** Encoder classification head: number of outputs (1 = regression); 0 = no head. */
  numLabels: number;
  /** FFN activation; default: exact GELU for the encoder (RoBERTa), tanh GELU for the decoder (GPT-2). */
  activation?: 'gelu' | 'gelu_tanh' | 'relu';
  /**
   * LayerNorm placement: false = post-LN (RoBERTa: h = LN(h + f(h))), true = pre-LN
   * (GPT-2: h = h + f(LN(h)), with a final LayerNorm). Default: post for the encoder, pre for
   * the decoder. Pre-LN encoders train from scratch far more readily; they have no Hugging
   * Face RoBERTa equivalent.
   */
  preLayerNorm?: boolean;
}

/** Whether a config's layers normalize before their sublayers (pre-LN). */
export function isPreLn(c: ModelConfig): boolean {
  return c.preLayerNorm ?? c.arch === 'decoder';
}

/** Defaults a user can override (RoBERTa-like tiny). */
export function defaultConfig(arch: ModelConfig['arch']): ModelConfig {
  return {
    arch,
    vocabSize: 1000,
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    intermediateSize: 256,
    maxPositions: 128,
    layerNormEps: arch === 'encoder' ? 1e-5 : 1e-5,
    dropout: 0.1,
    padTokenId: 1,
    numLabels: arch === 'encoder' ? 2 : 0,
  };
}

/** Largest sizes a config may give (far above any model that fits the engine). */
export const SIZE_LIMITS = {
  vocabSize: 1_000_000,
  hiddenSize: 65_536,
  numLayers: 1_000,
  numHeads: 4_096,
  intermediateSize: 262_144,
  maxPositions: 1_000_000,
  numLabels: 100_000,
} as const;

/** Parameters a model may have (float32: 4 bytes each, with gradients and AdamW moments four times that). */
export const MAX_PARAMETERS = 1e9;

/** Check a config; throws naming the field and what was expected. */
export function validateConfig(c: ModelConfig, file = 'config'): ModelConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    const got = c === null ? 'null' : Array.isArray(c) ? 'an array' : typeof c;
    throw new Error(`${file}: expected a JSON object with the model's sizes, got ${got}`);
  }
  const problems: string[] = [];
  const posInt = (k: keyof ModelConfig) => {
    const v = c[k];
    const max = SIZE_LIMITS[k as keyof typeof SIZE_LIMITS];
    if (!Number.isInteger(v) || (v as number) <= 0) problems.push(`${k}: expected a positive integer, got ${JSON.stringify(v)}`);
    else if (max !== undefined && (v as number) > max) problems.push(`${k}: ${v} is beyond what aimc can hold (at most ${max})`);
  };
  if (c.arch !== 'encoder' && c.arch !== 'decoder') problems.push(`arch: expected 'encoder' or 'decoder', got ${JSON.stringify(c.arch)}`);
  (['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions'] as const).forEach(posInt);
  if (Number.isInteger(c.hiddenSize) && Number.isInteger(c.numHeads) && c.hiddenSize % c.numHeads !== 0) {
    problems.push(`numHeads: hiddenSize ${c.hiddenSize} is not divisible by numHeads ${c.numHeads}`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) problems.push(`dropout: expected a number in [0, 1), got ${JSON.stringify(c.dropout)}`);
  if (!(c.layerNormEps > 0)) problems.push(`layerNormEps: expected a number > 0, got ${JSON.stringify(c.layerNormEps)}`);
  if (c.activation !== undefined && !['gelu', 'gelu_tanh', 'relu'].includes(c.activation)) {
    problems.push(`activation: expected 'gelu', 'gelu_tanh' or 'relu', got ${JSON.stringify(c.activation)}`);
  }
  if (!Number.isInteger(c.numLabels) || c.numLabels < 0 || c.numLabels > SIZE_LIMITS.numLabels) {
    problems.push(`numLabels: expected an integer in [0, ${SIZE_LIMITS.numLabels}], got ${JSON.stringify(c.numLabels)}`);
  }
  // The parameter count bounds the memory a config makes aimc allocate before any weight is read.
  if (!problems.length) {
    const D = c.hiddenSize;
    const params = (c.vocabSize + c.maxPositions + c.numLabels) * D + c.numLayers * (4 * D * D + 2 * D * c.intermediateSize);
    if (params > MAX_PARAMETERS) {
      const most = `${MAX_PARAMETERS.toExponential(0)} (4 GB of float32 weights)`;
      problems.push(`the sizes describe ${params.toExponential(2)} parameters; aimc holds at most ${most}`);
    }
  }
  if (c.preLayerNorm !== undefined && typeof c.preLayerNorm !== 'boolean') {
    problems.push(`preLayerNorm: expected true or false, got ${JSON.stringify(c.preLayerNorm)}`);
  }
  if (c.arch === 'decoder' && c.preLayerNorm === false) problems.push('preLayerNorm: the decoder (GPT-2) is pre-LN only');
  if (!Number.isInteger(c.padTokenId) || c.padTokenId < 0 || c.padTokenId >= c.vocabSize) {
    problems.push(`padTokenId: expected an integer in [0, vocabSize), got ${JSON.stringify(c.padTokenId)}`);
  }
  if (problems.length) throw new Error(problems.map((p) => `${file}: ${p}`).join('\n'));
  return c;
}
