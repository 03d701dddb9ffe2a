/**
 * BitFit (Ben Zaken et al., ACL 2022): train only the bias terms — of the target sites'
 * projections and, as in the paper, of the LayerNorms in the same layers. The biases are the
 * base model's own (updated in place; the adapter file stores them); they live in the digital
 * periphery on a chip, so placement is always digital.
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, AdapterPlugin, PluginContext } from '../../src/peft/types.js';
import { variableMembers } from '../../src/peft/variables.js';

export interface BitFitConfig {
  targets: string[];
  layers?: number[];
  layerNorm: boolean;
}

const plugin: AdapterPlugin<BitFitConfig> = {
  name: 'bitfit',
  description: 'BitFit: only the bias terms (target sites, and LayerNorm β in their layers)',
  formula: 'Σ D_out over target sites (+ D per LayerNorm β)',
  readsDeployment: false,
  // Biases only: rates far above full fine-tuning's, as the BitFit paper.
  training: { lr: 1e-2 },
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
    return {
      placement: 'digital',
      hooks: new Map(),
      ...variableMembers(vars),
      // The variables are the base model's: nothing of its own to free.
      dispose: () => {},
    };
  },
};

export default plugin;
