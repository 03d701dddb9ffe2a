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
  'gpt2-large': gpt2(1280, 36, 20),
};

/** Published sizes per architecture (`tiny`: aimc's test size, 4 × 128, 128 positions). */
export const PRESET_SIZES: Readonly<Record<'roberta' | 'gpt2', Readonly<Record<string, string>>>> = {
  roberta: { tiny: 'roberta-tiny', base: 'roberta-base', large: 'roberta-large' },
  gpt2: { tiny: 'gpt2-tiny', base: 'gpt2', medium: 'gpt2-medium', large: 'gpt2-large' },
};

const tiny = (c: ModelConfig): ModelConfig => ({
  ...c,
  hiddenSize: 128,
  numLayers: 4,
  numHeads: 4,
  intermediateSize: 512,
  maxPositions: 128,
});

/** The config of `--arch A --size S` (or a preset name); throws naming what exists. */
export function presetConfig(arch: string, size: string): { name: string; config: ModelConfig } {
  const sizes = PRESET_SIZES[arch as 'roberta' | 'gpt2'];
  if (!sizes) throw new Error(`--arch: unknown architecture '${arch}' (expected roberta or gpt2)`);
  const name = sizes[size];
  if (!name) throw new Error(`--size: ${arch} has no size '${size}' (expected ${Object.keys(sizes).join(', ')})`);
  if (size === 'tiny') return { name, config: tiny(arch === 'roberta' ? MODEL_PRESETS['roberta-base']! : MODEL_PRESETS.gpt2!) };
  return { name, config: MODEL_PRESETS[name]! };
}
