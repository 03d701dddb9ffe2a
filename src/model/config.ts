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

/** Check a config; throws naming the field and what was expected. */
export function validateConfig(c: ModelConfig, file = 'config'): ModelConfig {
  const problems: string[] = [];
  const posInt = (k: keyof ModelConfig) => {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) <= 0) problems.push(`${k}: expected a positive integer, got ${JSON.stringify(v)}`);
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
  if (!Number.isInteger(c.numLabels) || c.numLabels < 0) problems.push(`numLabels: expected an integer >= 0, got ${JSON.stringify(c.numLabels)}`);
  if (!Number.isInteger(c.padTokenId) || c.padTokenId < 0 || c.padTokenId >= c.vocabSize) {
    problems.push(`padTokenId: expected an integer in [0, vocabSize), got ${JSON.stringify(c.padTokenId)}`);
  }
  if (problems.length) throw new Error(problems.map((p) => `${file}: ${p}`).join('\n'));
  return c;
}
