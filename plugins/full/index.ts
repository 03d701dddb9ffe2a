/**
 * Full fine-tuning: every base parameter is trainable (embeddings, LayerNorms, every
 * projection). The adapter file stores the whole model; on a chip the new weights are simply
 * what gets programmed, so placement is merged.
 */
import type { Adapter, PluginModule, PluginContext } from '../../src/peft/types.js';
import { inPlaceAdapter } from '../../src/peft/variables.js';

const plugin: PluginModule<Record<string, never>> = {
  create(_c, ctx: PluginContext): Adapter {
    // The variables are the base model's, trained in place.
    return inPlaceAdapter('merged', new Map(ctx.parameters));
  },
};

export default plugin;
