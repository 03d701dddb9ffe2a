/**
 * GRASP (Bal & Sengupta, arXiv 2512.04296): the D input features of each target site are
 * split into K groups (contiguous, or permuted: the K values repeated over a fixed random
 * permutation of the channels); each group learns one scale (init 1) and one shift (init 0)
 * shared by its features — 2·K parameters per site instead of LoRA's r·(D_in + D_out).
 */
import type * as tfNs from '@tensorflow/tfjs';
import { groupedMembers, modulationHooks, modulationMacsPerToken, SiteGrouping, type Grouping } from '../../src/peft/grouping.js';
import type { Adapter, PluginModule, PluginContext, Placement, TargetSpec } from '../../src/peft/types.js';

export interface GraspConfig extends TargetSpec {
  groups: number;
  grouping: Grouping;
  placement: Placement;
}

const plugin: PluginModule<GraspConfig> = {
  create(c: GraspConfig, ctx: PluginContext): Adapter {
    const { tf } = ctx;
    const sites = ctx.selectSites(c);
    const vars = new Map<string, tfNs.Variable>();
    const hooks = new Map();
    const groupings = new Map<string, SiteGrouping>();
    for (const s of sites) {
      const g = SiteGrouping.forSite(ctx, s, c.groups, c.grouping);
      groupings.set(s.name, g);
      // Inside tidy: a variable holds its own reference, so the initial values are released.
      const scale = tf.tidy(() => tf.variable(tf.ones([1, c.groups])));
      const shift = tf.tidy(() => tf.variable(tf.zeros([1, c.groups])));
      vars.set(`${s.name}.scale`, scale);
      vars.set(`${s.name}.shift`, shift);
      // g.E is read at call time: loading a saved permutation rebuilds it.
      hooks.set(
        s.name,
        modulationHooks(
          tf,
          s,
          c.placement,
          () => tf.matMul(scale, g.E),
          () => tf.matMul(shift, g.E),
        ),
      );
    }
    return {
      placement: c.placement,
      hooks,
      ...groupedMembers(vars, groupings),
      digitalMacsPerToken: () => modulationMacsPerToken(sites, c.placement),
    };
  },
};

export default plugin;
