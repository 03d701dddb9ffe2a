/**
 * StochGRASP (Bal & Sengupta, arXiv 2512.04296): GRASP whose per-group scale and shift are
 * Gaussians N(μ, σ²) (σ = softplus(ρ)), sampled afresh by reparameterization at every training
 * step, with a noise-aware term pulling σ toward a target σ_t. Here σ_t comes from the device
 * the model will run on: its relative weight noise at the deployment horizon.
 *
 * The paper's exact loss is not reproduced here (its text was not available to us); ours is
 * loss = task + λ · mean over all groups of KL(N(μ, σ²) ‖ N(μ, σ_t²))
 *      = task + λ · mean(ln(σ_t/σ) + σ²/(2σ_t²) − 1/2),
 * which is zero exactly at σ = σ_t and leaves μ to the task loss.
 */
import type * as tfNs from '@tensorflow/tfjs';
import { groupedMembers, modulationHooks, modulationMacsPerToken, SiteGrouping, type Grouping } from '../../src/peft/grouping.js';
import type { Adapter, PluginModule, PluginContext, Placement, TargetSpec } from '../../src/peft/types.js';
import type { RandomStream } from '../../src/tensor/random.js';

export interface StochGraspConfig extends TargetSpec {
  groups: number;
  grouping: Grouping;
  placement: Placement;
  lambda: number;
  initStd: number;
  device?: string;
  horizon?: string | number;
  targetStd?: number;
  inference: 'mean' | 'sample';
}

/** softplus⁻¹(y) = ln(eᵞ − 1), so ρ can start at a chosen σ. */
function inverseSoftplus(y: number): number {
  return Math.log(Math.expm1(y));
}

/** KL(N(μ, σ²) ‖ N(μ, σ_t²)) per element: the noise-aware term (same means cancel). */
export function gaussianKl(tf: typeof tfNs, sigma: tfNs.Tensor, sigmaT: number): tfNs.Tensor {
  return tf.sub(tf.add(tf.sub(Math.log(sigmaT), tf.log(sigma)), tf.div(tf.square(sigma), 2 * sigmaT * sigmaT)), 0.5);
}

/** The target σ_t: explicit, else the configured or deployment device's relative weight noise at the horizon. */
export function targetStd(c: StochGraspConfig, ctx: PluginContext): { sigma: number; source: string } {
  if (c.targetStd !== undefined) return { sigma: c.targetStd, source: 'config targetStd' };
  const device = c.device ? ctx.loadDevice(c.device) : ctx.device;
  const horizon = c.horizon !== undefined ? ctx.parseDuration(c.horizon) : ctx.horizon;
  if (!device)
    throw new Error("stochgrasp: no target noise — set 'targetStd', or 'device' (a profile), or deploy/train with a device (--hwa)");
  return { sigma: ctx.relativeWeightNoise(device, horizon), source: `${device.name} at t = ${horizon} s` };
}

const plugin: PluginModule<StochGraspConfig> = {
  create(c: StochGraspConfig, ctx: PluginContext): Adapter {
    const { tf } = ctx;
    const sites = ctx.selectSites(c);
    const sigmaT = targetStd(c, ctx).sigma;
    if (!(sigmaT > 0)) throw new Error(`stochgrasp: target std must be > 0 (got ${sigmaT})`);
    const rho0 = inverseSoftplus(c.initStd);
    const vars = new Map<string, tfNs.Variable>();
    const hooks = new Map();
    const groupings = new Map<string, SiteGrouping>();
    const rhos: tfNs.Variable[] = [];
    let stepRng: RandomStream | null = null;
    let inferenceDraw = 0;
    const draw = (mu: tfNs.Variable, rho: tfNs.Variable, rng: RandomStream | null): tfNs.Tensor2D => {
      if (!rng) return mu as tfNs.Tensor2D;
      const eps = tf.tensor2d(rng.normal(new Float32Array(mu.size)), mu.shape as [number, number]);
      return tf.add(mu, tf.mul(tf.softplus(rho), eps)) as tfNs.Tensor2D;
    };
    for (const s of sites) {
      const g = SiteGrouping.forSite(ctx, s, c.groups, c.grouping);
      groupings.set(s.name, g);
      // Inside tidy: a variable holds its own reference, so the initial values are released.
      const v = tf.tidy(() => ({
        scaleMu: tf.variable(tf.ones([1, c.groups])),
        scaleRho: tf.variable(tf.fill([1, c.groups], rho0)),
        shiftMu: tf.variable(tf.zeros([1, c.groups])),
        shiftRho: tf.variable(tf.fill([1, c.groups], rho0)),
      }));
      for (const [k, t] of Object.entries(v)) vars.set(`${s.name}.${k}`, t);
      rhos.push(v.scaleRho, v.shiftRho);
      // Training: one sample per step (stepRng set by beginStep); evaluation: the mean, or a fresh sample.
      const rngFor = (purpose: string) =>
        stepRng?.child(s.name, purpose) ?? (c.inference === 'sample' ? ctx.rng.child('inference', inferenceDraw, s.name, purpose) : null);
      hooks.set(
        s.name,
        modulationHooks(
          tf,
          s,
          c.placement,
          () => tf.matMul(draw(v.scaleMu, v.scaleRho, rngFor('scale')), g.E),
          () => tf.matMul(draw(v.shiftMu, v.shiftRho, rngFor('shift')), g.E),
        ),
      );
    }
    return {
      placement: c.placement,
      hooks,
      ...groupedMembers(vars, groupings),
      digitalMacsPerToken: () => modulationMacsPerToken(sites, c.placement),
      extraLoss: () =>
        tf.mul(tf.mean(tf.concat(rhos.map((r) => tf.reshape(gaussianKl(tf, tf.softplus(r), sigmaT), [-1])))), c.lambda) as tfNs.Scalar,
      beginStep: (rng) => {
        stepRng = rng;
        if (!rng) inferenceDraw++;
      },
    };
  },
};

export default plugin;
