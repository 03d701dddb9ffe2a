/**
 * GRASP (Bal & Sengupta, arXiv 2512.04296): the D input features of each target site are
 * split into K groups (contiguous, or permuted: the K values repeated over a fixed random
 * permutation of the channels); each group learns one scale (init 1) and one shift (init 0)
 * shared by its features — 2·K parameters per site instead of LoRA's r·(D_in + D_out).
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, AdapterPlugin, PluginContext, Placement } from '../../src/peft/types.js';
import { groupedMembers, modulationHooks, SiteGrouping, type Grouping } from './groups.js';

export interface GraspConfig {
  targets: string[];
  layers?: number[];
  groups: number;
  grouping: Grouping;
  placement: Placement;
}

const plugin: AdapterPlugin<GraspConfig> = {
  name: 'grasp',
  description: 'GRASP: per-site grouped input scales and shifts (K groups, 2K parameters per site)',
  formula: '2·K per target site',
  readsDeployment: false,
  // 2K parameters per site on a frozen base: rates ~100× full fine-tuning's (calibrated on spam).
  training: { lr: 1e-2 },
  create(c: GraspConfig, ctx: PluginContext): Adapter {
    const { tf } = ctx;
    const sites = ctx.selectSites(c);
    const vars = new Map<string, tfNs.Variable>();
    const hooks = new Map();
    const groupings = new Map<string, SiteGrouping>();
    for (const s of sites) {
      const g = new SiteGrouping(tf, s.inFeatures, c.groups, c.grouping, ctx.rng.child('grouping', s.name));
      groupings.set(s.name, g);
      const scale = tf.variable(tf.ones([1, c.groups]));
      const shift = tf.variable(tf.zeros([1, c.groups]));
      vars.set(`${s.name}.scale`, scale);
      vars.set(`${s.name}.shift`, shift);
      // g.E is read at call time: loading a saved permutation rebuilds it.
      hooks.set(s.name, modulationHooks(tf, s, c.placement, () => tf.matMul(scale, g.E), () => tf.matMul(shift, g.E)));
    }
    return {
      placement: c.placement,
      hooks,
      ...groupedMembers(vars, groupings),
      // One multiply-add per input feature of each site when the modulation stays digital.
      digitalMacsPerToken: () => (c.placement === 'digital' ? sites.reduce((a, s) => a + s.inFeatures, 0) : 0),
      dispose: () => {
        vars.forEach((v) => v.dispose());
        groupings.forEach((g) => g.dispose());
      },
    };
  },
};

export default plugin;
