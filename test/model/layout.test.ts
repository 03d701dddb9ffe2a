import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from '../../src/tensor/backend.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig, type ModelConfig } from '../../src/model/config.js';
import { modelLayout } from '../../src/model/layout.js';
import { describeModel, loadModel, shippedModels } from '../../src/model/load.js';

beforeAll(async () => {
  await initBackend('wasm');
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
});
