/**
 * From results.jsonl lines to the numbers the report shows. A "variant" is an adapter label
 * with its training setting (`grasp`, `grasp+hwa`). Per (variant, device, scale, time): the
 * mean over every trial of every seed, the spread over trials (std of all trial values) and
 * the spread over seeds (std of the per-seed means; 0 with one seed).
 */
import type { ResultLine } from '../experiment/store.js';
import { meanStd } from '../stats/summary.js';

export interface Cell {
  variant: string;
  adapter: string;
  hwa: string;
  device: string;
  noiseScale: number;
  t: number;
  mean: number;
  stdTrials: number;
  stdSeeds: number;
  seeds: number;
  trials: number;
  /** Mean digital (no device) metric of the same trained adapters. */
  digital: number;
  /** Per seed: the mean over its trials, and its digital metric (for paired comparisons). */
  bySeed: Record<string, { mean: number; digital: number }>;
}

/** `grasp` or `grasp+hwa(pcm@1d)`. */
export function variantOf(l: Record<string, unknown>): string {
  return l.hwa && l.hwa !== 'none' ? `${String(l.adapter)}+hwa` : String(l.adapter);
}

/** Aggregate result lines into cells, sorted by variant order of appearance, device, scale, time. */
export function aggregate(lines: ResultLine[]): Cell[] {
  const results = lines.filter((l) => l.kind === 'result');
  // A report computed from a NaN would print a number that means nothing.
  for (const l of [...results, ...lines.filter((x) => x.kind === 'digital')]) {
    if (typeof l.value !== 'number' || !Number.isFinite(l.value)) {
      throw new Error(
        `results.jsonl: the ${l.kind} line '${l.key}' holds ${JSON.stringify(l.value)}, not a finite number; ` +
          'rerun that experiment (its results are not trustworthy)',
      );
    }
  }
  const groups = new Map<string, ResultLine[]>();
  for (const l of results) {
    const k = JSON.stringify([variantOf(l), l.device, l.noiseScale, l.t]);
    groups.set(k, [...(groups.get(k) ?? []), l]);
  }
  const cells: Cell[] = [];
  for (const [k, ls] of groups) {
    const [variant, device, noiseScale, t] = JSON.parse(k) as [string, string, number, number];
    const bySeed = new Map<string, number[]>();
    for (const l of ls) bySeed.set(String(l.seed), [...(bySeed.get(String(l.seed)) ?? []), l.value as number]);
    const seedMeans = [...bySeed.values()].map((v) => meanStd(v).mean);
    const all = meanStd(ls.map((l) => l.value as number));
    const digitalOf = new Map(ls.map((l) => [String(l.seed), l.digital as number]));
    const digital = meanStd([...digitalOf.values()].filter((v) => typeof v === 'number')).mean;
    const perSeed = Object.fromEntries([...bySeed.keys()].map((s, i) => [s, { mean: seedMeans[i]!, digital: digitalOf.get(s) ?? NaN }]));
    cells.push({
      variant,
      adapter: String(ls[0]!.adapter),
      hwa: String(ls[0]!.hwa),
      device,
      noiseScale,
      t,
      mean: all.mean,
      stdTrials: all.std,
      stdSeeds: meanStd(seedMeans).std,
      seeds: bySeed.size,
      trials: ls.length,
      digital,
      bySeed: perSeed,
    });
  }
  const order = [...new Set(results.map(variantOf))];
  const byVariant = (a: Cell, b: Cell) => order.indexOf(a.variant) - order.indexOf(b.variant);
  const byDevice = (a: Cell, b: Cell) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);
  return cells.sort((a, b) => byVariant(a, b) || byDevice(a, b) || a.noiseScale - b.noiseScale || a.t - b.t);
}

/** A variant's trainable parameters (task head excluded), its head's and the base model's. */
export interface ParameterCount {
  variant: string;
  adapter: string;
  trainable: number;
  head: number;
  base: number;
}

/** Trainable parameters per variant (from the train lines). */
export function parameterCounts(lines: ResultLine[]): ParameterCount[] {
  const out = new Map<string, ParameterCount>();
  for (const l of lines.filter((x) => x.kind === 'train')) {
    const c = l.counts as { trainable: number; head: number; base: number };
    out.set(variantOf(l), { variant: variantOf(l), adapter: String(l.adapter), ...c });
  }
  return [...out.values()];
}

/** A variant's training outcome over seeds: its parameter counts, dev metric (best checkpoint) and digital test metric per seed. */
export interface TrainingRow {
  variant: string;
  trainable: number;
  head: number;
  /** seed → dev metric at the kept checkpoint (train lines). */
  dev: Record<string, number>;
  /** seed → the metric on the evaluation split with no device (digital lines). */
  digital: Record<string, number>;
}

/** Per variant, in order of appearance: counts and per-seed dev / digital metrics. */
export function trainingRows(lines: ResultLine[]): TrainingRow[] {
  const rows = new Map<string, TrainingRow>();
  const row = (l: ResultLine): TrainingRow => {
    const v = variantOf(l);
    let r = rows.get(v);
    if (!r) rows.set(v, (r = { variant: v, trainable: NaN, head: NaN, dev: {}, digital: {} }));
    return r;
  };
  for (const l of lines) {
    if (l.kind === 'train') {
      const r = row(l);
      const c = l.counts as { trainable: number; head: number } | undefined;
      if (c) [r.trainable, r.head] = [c.trainable, c.head];
      const dev = (l.dev as Record<string, number> | undefined)?.[String(l.metric)];
      if (typeof dev === 'number') r.dev[String(l.seed)] = dev;
    } else if (l.kind === 'digital' && typeof l.value === 'number') row(l).digital[String(l.seed)] = l.value;
  }
  return [...rows.values()];
}
