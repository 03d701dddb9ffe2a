import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig, type ModelConfig } from '../../src/model/config.js';
import { modelLayout } from '../../src/model/layout.js';
import { describeModel, loadModel, shippedModels } from '../../src/model/load.js';
import { MODEL_PRESETS } from '../../src/model/presets.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

const small = (arch: 'encoder' | 'decoder', extra: Partial<ModelConfig> = {}): ModelConfig => ({
  ...defaultConfig(arch),
  vocabSize: 37,
  hiddenSize: 16,
  numHeads: 2,
  intermediateSize: 24,
  numLayers: 3,
  maxPositions: 11,
  numLabels: 0,
  ...extra,
});

describe('model layout from the config alone', () => {
  const cases: [string, ModelConfig, boolean][] = [
    ['encoder with a 3-class head', small('encoder', { numLabels: 3 }), false],
    ['encoder without a head, with the masked-LM head', small('encoder'), true],
    ['pre-LN encoder', small('encoder', { preLayerNorm: true, numLabels: 2 }), true],
    ['decoder', small('decoder'), false],
  ];
  for (const [label, config, mlm] of cases) {
    it(`${label}: the same sites and parameter count as the built model`, () => {
      const m = new Transformer(config, 'layout');
      if (mlm) m.withMlmHead();
      const l = modelLayout(config, mlm);
      expect(l.sites.map((s) => [s.name, s.role, s.inFeatures, s.outFeatures, s.parameters])).toEqual(
        m.sites.map((s) => [s.name, s.role, s.inFeatures, s.outFeatures, s.parameterCount()]),
      );
      expect(l.parameters).toBe(m.parameterCount());
      m.dispose();
    });
  }

  it('describeModel of the shipped models agrees with loading them', () => {
    expect(shippedModels().length).toBeGreaterThan(0);
    for (const name of shippedModels()) {
      const d = describeModel(name);
      const { model } = loadModel(name);
      expect(d.layout.parameters, name).toBe(model.parameterCount());
      expect(d.layout.sites.map((s) => s.name)).toEqual(model.sites.map((s) => s.name));
      model.dispose();
    }
  });

  it("the presets have Hugging Face's published sizes", () => {
    // transformers' parameter counts: RobertaModel (with its pooler) and GPT2Model. aimc's
    // encoders carry a 2-class head instead of the pooler: − D² − D (pooler) + D² + D + 2D + 2.
    const head = (D: number) => -(D * D + D) + (D * D + D + 2 * D + 2);
    expect(modelLayout(MODEL_PRESETS['roberta-base']!).parameters).toBe(124_645_632 + head(768));
    expect(modelLayout(MODEL_PRESETS['roberta-large']!).parameters).toBe(355_359_744 + head(1024));
    expect(modelLayout(MODEL_PRESETS.gpt2!).parameters).toBe(124_439_808);
    expect(modelLayout(MODEL_PRESETS['gpt2-medium']!).parameters).toBe(354_823_168);
    expect(modelLayout(MODEL_PRESETS['gpt2-large']!).parameters).toBe(774_030_080);
  });
});
