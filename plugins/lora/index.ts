/**
 * LoRA (Hu et al., ICLR 2022): each target site gains a low-rank update ΔW = A·B·(α/r), A[in, r]
 * initialized as PyTorch's kaiming-uniform (a = √5: U(±1/√in)) and B[r, out] at zero, so the
 * adapted model starts as the base. digital: the branch (dropout(x)·A)·B·α/r runs in the
 * periphery beside the analog MVM; merged: ΔW is added to W before it is programmed (dropout
 * does not apply to a merged update).
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, PluginModule, PluginContext, Placement, TargetSpec } from '../../src/peft/types.js';
import { ownedVariableMembers } from '../../src/peft/variables.js';
import type { RandomStream } from '../../src/tensor/random.js';

export interface LoraConfig extends TargetSpec {
  rank: number;
  alpha: number;
  dropout: number;
  placement: Placement;
}

const plugin: PluginModule<LoraConfig> = {
  create(c: LoraConfig, ctx: PluginContext): Adapter {
    const { tf } = ctx;
    const sites = ctx.selectSites(c);
    // A rank above a site's smaller side adds nothing a full update could not, and would
    // allocate r·(D_in + D_out) per site: refused before anything is allocated.
    for (const s of sites) {
      const most = Math.min(s.inFeatures, s.outFeatures);
      if (c.rank > most)
        throw new Error(`lora: rank ${c.rank} exceeds ${s.name}'s smaller dimension ${most} (it is ${s.inFeatures} × ${s.outFeatures})`);
    }
    const scaling = c.alpha / c.rank;
    const vars = new Map<string, tfNs.Variable>();
    const hooks = new Map();
    let stepRng: RandomStream | null = null;
    for (const s of sites) {
      const bound = 1 / Math.sqrt(s.inFeatures);
      const u = ctx.rng.child(s.name, 'A').uniform(new Float32Array(s.inFeatures * c.rank));
      // Inside tidy: a variable holds its own reference, so the initial values are released.
      const A = tf.tidy(() =>
        tf.variable(
          tf.tensor2d(
            u.map((x) => (2 * x - 1) * bound),
            [s.inFeatures, c.rank],
          ),
        ),
      );
      const B = tf.tidy(() => tf.variable(tf.zeros([c.rank, s.outFeatures])));
      vars.set(`${s.name}.A`, A);
      vars.set(`${s.name}.B`, B);
      if (c.placement === 'merged') {
        hooks.set(s.name, { weightDelta: () => tf.mul(tf.matMul(A, B), scaling) });
      } else {
        hooks.set(s.name, {
          after: (x: tfNs.Tensor2D, y: tfNs.Tensor2D) => {
            let xi: tfNs.Tensor2D = x;
            if (stepRng && c.dropout > 0) {
              const keep = tf.tensor2d(
                stepRng
                  .child(s.name, 'dropout')
                  .uniform(new Float32Array(x.size))
                  .map((v) => (v >= c.dropout ? 1 / (1 - c.dropout) : 0)),
                x.shape,
              );
              xi = tf.mul(x, keep);
            }
            return tf.add(y, tf.mul(tf.matMul(tf.matMul(xi, A), B), scaling)) as tfNs.Tensor2D;
          },
        });
      }
    }
    return {
      placement: c.placement,
      hooks,
      ...ownedVariableMembers(vars),
      // x·A then (xA)·B per token: r·(D_in + D_out) when the branch stays digital.
      digitalMacsPerToken: () => (c.placement === 'digital' ? sites.reduce((a, s) => a + c.rank * (s.inFeatures + s.outFeatures), 0) : 0),
      beginStep: (rng) => {
        stepRng = rng;
      },
    };
  },
};

export default plugin;
