/**
 * Full fine-tuning: every base parameter is trainable (embeddings, LayerNorms, every
 * projection). The adapter file stores the whole model; on a chip the new weights are simply
 * what gets programmed, so placement is merged.
 */
import type { Adapter, AdapterPlugin, PluginContext } from '../../src/peft/types.js';
import { variableMembers } from '../../src/peft/variables.js';

const plugin: AdapterPlugin<Record<string, never>> = {
  name: 'full',
  description: 'Full fine-tuning: every parameter of the base model',
  formula: 'all base parameters',
  readsDeployment: false,
  // Full fine-tuning moves every weight: the usual small rate.
  training: { lr: 1e-4 },
  create(_c, ctx: PluginContext): Adapter {
    const vars = new Map(ctx.parameters);
    return {
      placement: 'merged',
      hooks: new Map(),
      ...variableMembers(vars),
      // The variables are the base model's.
      dispose: () => {},
    };
  },
};

export default plugin;
