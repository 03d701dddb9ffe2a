/**
 * Grouped input features, for plugins that learn per-group values (grasp, stochgrasp): the K
 * groups over a site's D input features — contiguous, or the K values repeated ⌈D/K⌉ times
 * over a fixed random permutation of the channels — and the two ways of applying per-group
 * scales and shifts (before the projection, or folded into it). Host code, so a plugin never
 * imports another plugin.
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { RandomStream } from '../tensor/random.js';
import type { Adapter, LinearSite, Placement, PluginContext, SiteHooks } from './types.js';
import { variableMembers } from './variables.js';

/** How features are assigned to groups. */
export type Grouping = 'contiguous' | 'permuted';

/**
 * Group sizes for D features in K contiguous groups: when K does not divide D, the first
 * D mod K groups get one feature more (numpy's array_split), so sizes differ by at most one.
 */
export function groupSizes(D: number, K: number): number[] {
  if (K > D) throw new Error(`groups: K = ${K} exceeds the ${D} input features of a target site`);
  const base = Math.floor(D / K);
  return Array.from({ length: K }, (_, g) => base + (g < D % K ? 1 : 0));
}

/** A fixed random permutation of 0…D−1 (Fisher–Yates over the stream's uniforms). */
export function randomPermutation(D: number, rng: RandomStream): Int32Array {
  const p = Int32Array.from({ length: D }, (_, i) => i);
  const u = rng.uniform(new Float64Array(D));
  for (let i = D - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/**
 * Group of each of D features. Contiguous: array_split blocks. Permuted: the K values tiled
 * ⌈D/K⌉ times (position i carries group i mod K, truncated to D) and scattered over the
 * channels by the permutation — feature perm[i] is in group i mod K. Both give groups of
 * ⌊D/K⌋ or ⌈D/K⌉ features.
 */
export function featureGroups(D: number, K: number, perm: Int32Array | null): Int32Array {
  const sizes = groupSizes(D, K);
  const out = new Int32Array(D);
  if (!perm) {
    let i = 0;
    sizes.forEach((n, g) => out.fill(g, i, (i += n)));
    return out;
  }
  for (let i = 0; i < D; i++) out[perm[i]!] = i % K;
  return out;
}

/** One-hot expansion E[K, D] (E[g, i] = 1 when feature i is in group g): per-feature values = v[1,K]·E. */
export function expansionOf(tf: typeof tfNs, groups: Int32Array, K: number): tfNs.Tensor2D {
  const D = groups.length;
  const e = new Float32Array(K * D);
  groups.forEach((g, i) => (e[g * D + i] = 1));
  return tf.tensor2d(e, [K, D]);
}

/** One site's grouping: its expansion matrix and, when permuted, the permutation (saved with the adapter). */
export class SiteGrouping {
  E: tfNs.Tensor2D;
  perm: Int32Array | null;
  private permTensor: tfNs.Tensor1D | null = null;

  constructor(
    private readonly tf: typeof tfNs,
    readonly D: number,
    readonly K: number,
    grouping: Grouping,
    rng: RandomStream,
  ) {
    groupSizes(D, K); // K > D is refused before anything is drawn
    this.perm = grouping === 'permuted' ? randomPermutation(D, rng) : null;
    this.E = expansionOf(tf, featureGroups(D, K, this.perm), K);
  }

  /**
   * A target site's grouping over its input features; a permutation is drawn from the
   * adapter's stream `grouping/SITE`, so it depends on the seed and the site alone.
   */
  static forSite(ctx: Pick<PluginContext, 'tf' | 'rng'>, site: LinearSite, K: number, grouping: Grouping): SiteGrouping {
    return new SiteGrouping(ctx.tf, site.inFeatures, K, grouping, ctx.rng.child('grouping', site.name));
  }

  /** Restore a saved permutation (checked: exactly 0…D−1 once each) and rebuild E. */
  setPermutation(values: ArrayLike<number>, name: string): void {
    const seen = new Uint8Array(this.D);
    const p = new Int32Array(this.D);
    if (values.length !== this.D) throw new Error(`${name}: expected a permutation of ${this.D} channels, got ${values.length} values`);
    for (let i = 0; i < this.D; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= this.D || seen[v])
        throw new Error(`${name}: not a permutation of 0…${this.D - 1} (entry ${i} is ${v})`);
      seen[v] = 1;
      p[i] = v;
    }
    this.perm = p;
    this.permTensor?.dispose();
    this.permTensor = null;
    this.E.dispose();
    this.E = expansionOf(this.tf, featureGroups(this.D, this.K, p), this.K);
  }

  /** The permutation as a float tensor for the adapter file (one per site, owned here). */
  permutationTensor(): tfNs.Tensor1D | null {
    if (!this.perm) return null;
    return (this.permTensor ??= this.tf.tensor1d(Float32Array.from(this.perm)));
  }

  dispose(): void {
    this.E.dispose();
    this.permTensor?.dispose();
  }
}

/**
 * trainableVariables, parameterCount, state, load and dispose for grouped adapters: the
 * variables, plus each permuted site's permutation as `SITE.permutation` in the saved state
 * (not trained, not counted), so a loaded adapter uses exactly the channels it was trained
 * with. The adapter owns both: dispose frees the variables and the groupings.
 */
export function groupedMembers(
  vars: Map<string, tfNs.Variable>,
  groupings: Map<string, SiteGrouping>,
): Pick<Adapter, 'trainableVariables' | 'parameterCount' | 'state' | 'load' | 'dispose'> {
  return {
    ...variableMembers(vars),
    state: () => {
      const st = new Map<string, tfNs.Tensor>(vars);
      for (const [site, g] of groupings) {
        const p = g.permutationTensor();
        if (p) st.set(`${site}.permutation`, p);
      }
      return st;
    },
    load: (st) =>
      st.forEach((t, n) => {
        const site = n.endsWith('.permutation') ? n.slice(0, -'.permutation'.length) : null;
        if (site !== null && groupings.get(site)?.perm) groupings.get(site)!.setPermutation(t.dataSync(), n);
        else vars.get(n)!.assign(t);
      }),
    dispose: () => {
      vars.forEach((v) => v.dispose());
      groupings.forEach((g) => g.dispose());
    },
  };
}

/**
 * Hooks applying per-feature scale s[D] and shift b[D] (given as thunks, so a stochastic
 * method can sample per step): digital = x·diag(s) + b before the projection; merged =
 * W' = diag(s)·W and bias' = bias + b·W, the same function with nothing left in the periphery.
 */
export function modulationHooks(
  tf: typeof tfNs,
  site: LinearSite,
  placement: Placement,
  scale: () => tfNs.Tensor2D,
  shift: () => tfNs.Tensor2D,
): SiteHooks {
  if (placement === 'digital') return { before: (x) => tf.add(tf.mul(x, scale()), shift()) as tfNs.Tensor2D };
  return {
    weightDelta: () => tf.mul(tf.reshape(tf.sub(scale(), 1), [site.inFeatures, 1]), site.weight) as tfNs.Tensor2D,
    biasDelta: () => tf.reshape(tf.matMul(shift(), site.weight), [site.outFeatures]) as tfNs.Tensor1D,
  };
}

/**
 * Multiply-adds per token that modulationHooks leave in the digital periphery: one per input
 * feature of each site when digital, none when merged.
 */
export function modulationMacsPerToken(sites: readonly LinearSite[], placement: Placement): number {
  return placement === 'digital' ? sites.reduce((a, s) => a + s.inFeatures, 0) : 0;
}
