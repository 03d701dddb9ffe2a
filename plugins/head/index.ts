/**
 * Head-only ("linear probing" through the classification head): the base model is frozen and
 * only the task head — which the host trains beside every adapter — learns. No parameters of
 * its own; the baseline every adapter should beat.
 */
import type { Adapter, AdapterPlugin } from '../../src/peft/types.js';

const plugin: AdapterPlugin<Record<string, never>> = {
  name: 'head',
  description: 'Head only: the base model frozen, only the task head trained',
  formula: '0 (+ the task head)',
  readsDeployment: false,
  // A linear head on frozen features: a large rate converges within a few hundred steps.
  training: { lr: 1e-2 },
  create(): Adapter {
    return {
      placement: 'digital',
      hooks: new Map(),
      trainableVariables: () => [],
      parameterCount: () => 0,
      state: () => new Map(),
      load: () => {},
      dispose: () => {},
    };
  },
};

export default plugin;
