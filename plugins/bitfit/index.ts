/**
 * BitFit (Ben Zaken et al., ACL 2022): train only the bias terms — of the target sites'
 * projections and, as in the paper, of the LayerNorms in the same layers. The biases are the
 * base model's own (updated in place; the adapter file stores them); they live in the digital
 * periphery on a chip, so placement is always digital.
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, PluginModule, PluginContext, TargetSpec } from '../../src/peft/types.js';
import { inPlaceAdapter } from '../../src/peft/variables.js';

export interface BitFitConfig extends TargetSpec {
  layerNorm: boolean;
}

const plugin: PluginModule<BitFitConfig> = {
  create(c: BitFitConfig, ctx: PluginContext): Adapter {
    const sites = ctx.selectSites(c);
    const vars = new Map<string, tfNs.Variable>();
    for (const s of sites) if (s.bias) vars.set(`${s.name}.bias`, s.bias);
    if (c.layerNorm) {
      const layers = new Set(sites.map((s) => ctx.layerOf(s)));
      for (const [name, v] of ctx.parameters) {
        const m = /^(?:encoder|decoder)\.(\d+)\.ln\d\.beta$/.exec(name);
        if (m && layers.has(Number(m[1]))) vars.set(name, v);
        if (name === 'embed.ln.beta' || name === 'final_ln.beta') vars.set(name, v);
      }
    }
    if (!vars.size) throw new Error('bitfit: the target sites have no bias terms');
    // The variables are the base model's, trained in place.
    return inPlaceAdapter('digital', vars);
  },
};

export default plugin;
