/**
 * GRASP (Bal & Sengupta, arXiv 2512.04296): the D input features of each target site are
 * split into K contiguous groups; each group learns one scale (init 1) and one shift (init 0)
 * shared by its features — 2·K parameters per site instead of LoRA's r·(D_in + D_out).
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, AdapterPlugin, PluginContext, Placement } from '../../src/peft/types.js';
import { variableMembers } from '../../src/peft/variables.js';
import { expansion, modulationHooks } from './groups.js';

export interface GraspConfig {
  targets: string[];
  layers?: number[];
  groups: number;
  placement: Placement;
}

const plugin: AdapterPlugin<GraspConfig> = {
  name: 'grasp',
  description: 'GRASP: per-site grouped input scales and shifts (K groups, 2K parameters per site)',
  formula: '2·K per target site',
  readsDeployment: false,
  create(c: GraspConfig, ctx: PluginContext): Adapter {
    const { tf } = ctx;
    const sites = ctx.selectSites(c);
    const vars = new Map<string, tfNs.Variable>();
    const hooks = new Map();
    const consts: tfNs.Tensor[] = [];
    for (const s of sites) {
      const D = s.inFeatures;
      const E = expansion(tf, D, c.groups);
      consts.push(E);
      const scale = tf.variable(tf.ones([1, c.groups]));
      const shift = tf.variable(tf.zeros([1, c.groups]));
      vars.set(`${s.name}.scale`, scale);
      vars.set(`${s.name}.shift`, shift);
      hooks.set(s.name, modulationHooks(tf, s, c.placement, () => tf.matMul(scale, E), () => tf.matMul(shift, E)));
    }
    return {
      placement: c.placement,
      hooks,
      ...variableMembers(vars),
      // One multiply-add per input feature of each site when the modulation stays digital.
      digitalMacsPerToken: () => (c.placement === 'digital' ? sites.reduce((a, s) => a + s.inFeatures, 0) : 0),
      dispose: () => {
        vars.forEach((v) => v.dispose());
        consts.forEach((t) => t.dispose());
      },
    };
  },
};

export default plugin;
