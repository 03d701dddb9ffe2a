/**
 * (IA)³ (Liu et al., NeurIPS 2022): learned vectors, initialized to one, rescale the keys, the
 * values and the FFN's intermediate activation. A site with an attention role is rescaled at
 * its output (l ⊙ (x·W + b)); an `ffn.out` site at its input, which is the intermediate
 * activation (HF PEFT's feedforward_modules). merged placement folds l into W's columns (and the
 * bias) or rows instead.
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, PluginModule, PluginContext, Placement, SiteHooks, TargetSpec } from '../../src/peft/types.js';
import { ownedVariableMembers } from '../../src/peft/variables.js';

export interface Ia3Config extends TargetSpec {
  placement: Placement;
}

const plugin: PluginModule<Ia3Config> = {
  create(c: Ia3Config, ctx: PluginContext): Adapter {
    const { tf } = ctx;
    const sites = ctx.selectSites(c);
    const vars = new Map<string, tfNs.Variable>();
    const hooks = new Map<string, SiteHooks>();
    for (const s of sites) {
      const onInput = s.role === 'ffn.out';
      const n = onInput ? s.inFeatures : s.outFeatures;
      const l = tf.tidy(() => tf.variable(tf.ones([1, n]))); // tidy releases the initial ones
      vars.set(`${s.name}.scale`, l);
      if (c.placement === 'digital') {
        hooks.set(s.name, onInput ? { before: (x) => tf.mul(x, l) as tfNs.Tensor2D } : { after: (_x, y) => tf.mul(y, l) as tfNs.Tensor2D });
      } else if (onInput) {
        hooks.set(s.name, { weightDelta: () => tf.mul(tf.reshape(tf.sub(l, 1), [n, 1]), s.weight) as tfNs.Tensor2D });
      } else {
        hooks.set(s.name, {
          weightDelta: () => tf.mul(tf.sub(l, 1), s.weight) as tfNs.Tensor2D,
          ...(s.bias ? { biasDelta: () => tf.reshape(tf.mul(tf.sub(l, 1), s.bias!), [n]) as tfNs.Tensor1D } : {}),
        });
      }
    }
    const members = ownedVariableMembers(vars);
    return {
      placement: c.placement,
      hooks,
      ...members,
      // One multiply per learned scale and token when the rescaling stays digital.
      digitalMacsPerToken: () => (c.placement === 'digital' ? members.parameterCount() : 0),
    };
  },
};

export default plugin;
