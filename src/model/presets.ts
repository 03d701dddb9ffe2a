/**
 * The seed paper's model sizes as aimc configs, with Hugging Face's published sizes
 * (roberta-base / roberta-large / gpt2 / gpt2-medium config.json): for `aimc model init`, which
 * writes them with random weights in HF layout to test import, fine-tuning and deployment at
 * size on machines that cannot download the real checkpoints.
 */
import { defaultConfig, type ModelConfig } from './config.js';

const roberta = (hiddenSize: number, numLayers: number, numHeads: number): ModelConfig => ({
  ...defaultConfig('encoder'),
  vocabSize: 50265,
  hiddenSize,
  numLayers,
  numHeads,
  intermediateSize: 4 * hiddenSize,
  // max_position_embeddings 514 = 512 positions after padding_idx 1.
  maxPositions: 512,
  layerNormEps: 1e-5,
  dropout: 0.1,
  padTokenId: 1,
  numLabels: 2,
});

const gpt2 = (hiddenSize: number, numLayers: number, numHeads: number): ModelConfig => ({
  ...defaultConfig('decoder'),
  vocabSize: 50257,
  hiddenSize,
  numLayers,
  numHeads,
  intermediateSize: 4 * hiddenSize,
  maxPositions: 1024,
  layerNormEps: 1e-5,
  dropout: 0.1,
  numLabels: 0,
});

export const MODEL_PRESETS: Readonly<Record<string, ModelConfig>> = {
  'roberta-base': roberta(768, 12, 12),
  'roberta-large': roberta(1024, 24, 16),
  gpt2: gpt2(768, 12, 12),
  'gpt2-medium': gpt2(1024, 24, 16),
};
