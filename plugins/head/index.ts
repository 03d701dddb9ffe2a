/**
 * Head-only ("linear probing" through the classification head): the base model is frozen and
 * only the task head — which the host trains beside every adapter — learns. No parameters of
 * its own; the baseline every adapter should beat.
 */
import type { Adapter, PluginModule } from '../../src/peft/types.js';
import { inPlaceAdapter } from '../../src/peft/variables.js';

const plugin: PluginModule<Record<string, never>> = {
  create(): Adapter {
    // Nothing trained beside the head.
    return inPlaceAdapter('digital');
  },
};

export default plugin;
