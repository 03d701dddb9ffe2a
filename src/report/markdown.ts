/**
 * The report's tables as Markdown (report.md): per device and noise scale the metric of each
 * adapter over time, per device with a noise sweep the metric over scales, and optional
 * head-to-head comparisons of two adapters — the form a README or an issue note quotes.
 */
import { formatDuration } from '../input/values.js';
import type { Cell, TrainingRow } from './aggregate.js';
import { meanSe, meanStd, tCritical } from '../stats/summary.js';

/** `x` with `digits` decimals, or — when not finite (the HTML report's tables use it too). */
export function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

/** Spread shown for a cell: over seeds when there are several, else over trials. */
function spread(c: Cell): number {
  return c.seeds > 1 ? c.stdSeeds : c.stdTrials;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface Comparison {
  device: string;
  noiseScale: number;
  t: number;
  /** a − b of the mean metric, and its standard error. */
  diff: number;
  se: number;
  /** a − b of the drop from digital (digital − analog): robustness apart from digital accuracy. */
  dropDiff: number;
  dropSe: number;
  /** Seeds paired, or trials when unpaired. */
  n: number;
  /** Two-sided 95 % critical value of Student's t for the comparison's degrees of freedom. */
  critical: number;
  /** Paired by seed: same seed = same head initialization, batch order and chip draws. */
  paired: boolean;
}

/**
 * a − b per (device, scale, time) where both were deployed. With two or more seeds in common
 * the comparison is paired by seed (the spread of per-seed differences, which removes what
 * the two runs of a seed share); otherwise unpaired over trials: √(s_a²/n_a + s_b²/n_b).
 */
export function compare(cells: Cell[], a: string, b: string): Comparison[] {
  const out: Comparison[] = [];
  for (const ca of cells.filter((c) => c.variant === a)) {
    const cb = cells.find((c) => c.variant === b && c.device === ca.device && c.noiseScale === ca.noiseScale && c.t === ca.t);
    if (!cb) continue;
    const key = { device: ca.device, noiseScale: ca.noiseScale, t: ca.t };
    const common = Object.keys(ca.bySeed).filter((s) => s in cb.bySeed);
    if (common.length >= 2) {
      const d = meanSe(common.map((s) => ca.bySeed[s]!.mean - cb.bySeed[s]!.mean));
      const dropOf = (c: Cell, s: string) => c.bySeed[s]!.digital - c.bySeed[s]!.mean;
      const drop = meanSe(common.map((s) => dropOf(ca, s) - dropOf(cb, s)));
      const n = common.length;
      out.push({ ...key, diff: d.mean, se: d.se, dropDiff: drop.mean, dropSe: drop.se, n, critical: tCritical(n - 1), paired: true });
    } else {
      const n = (c: Cell) => (c.seeds > 1 ? c.seeds : c.trials);
      const se = Math.sqrt(spread(ca) ** 2 / n(ca) + spread(cb) ** 2 / n(cb));
      // df of the smaller sample: conservative next to Welch's.
      const m = Math.min(n(ca), n(cb));
      const dropDiff = ca.digital - ca.mean - (cb.digital - cb.mean);
      out.push({ ...key, diff: ca.mean - cb.mean, se, dropDiff, dropSe: se, n: m, critical: tCritical(m - 1), paired: false });
    }
  }
  return out;
}

/**
 * `+0.012 ± 0.004 *`: * where |diff| > critical · se (a two-sided t-test at 5 %). A zero
 * standard error (every seed's difference the same, as happens with a few seeds and a metric
 * in steps of 1/N) leaves the test undefined, so it is never marked; an se at float-rounding
 * size (the same differences computed from different operands) counts as zero.
 */
export function formatDiff(diff: number, se: number, critical: number, digits = 3): string {
  const marked = se > 1e-9 * Math.abs(diff) && Math.abs(diff) > critical * se;
  return `${diff >= 0 ? '+' : ''}${fmt(diff, digits)} ± ${fmt(se, digits)}${marked ? ' *' : ''}`;
}

/** A variant's table row: its digital metric, then `mean ± spread` per column (— where it has no cell). */
function variantRow(variant: string, row: Cell[], columns: (Cell | undefined)[], digits: number): string[] {
  const meanPm = (c: Cell | undefined) => (c ? `${fmt(c.mean, digits)} ± ${fmt(spread(c), digits)}` : '—');
  return [variant, fmt(row[0]!.digital, digits), ...columns.map(meanPm)];
}

/** `mean ± sd (n)` of a seed → value map, or — when empty. */
function overSeeds(v: Record<string, number>, digits: number): string {
  const xs = Object.values(v);
  if (!xs.length) return '—';
  const m = meanStd(xs);
  return xs.length > 1 ? `${fmt(m.mean, digits)} ± ${fmt(m.std, digits)}` : fmt(m.mean, digits);
}

/** a − b over the seeds both have: paired mean ± se with its 5 % mark, or — with fewer than two. */
function pairedOverSeeds(a: Record<string, number>, b: Record<string, number>, digits: number): string {
  const common = Object.keys(a).filter((s) => s in b);
  if (common.length < 2) return '—';
  const d = meanSe(common.map((s) => a[s]! - b[s]!));
  return formatDiff(d.mean, d.se, tCritical(common.length - 1), digits);
}

/** A table as header cells and body rows (the Markdown and HTML reports render it each their way). */
export interface PlainTable {
  head: string[];
  rows: string[][];
}

/**
 * The training tables: per adapter its trainable parameters, the dev metric of the kept
 * checkpoint and the digital metric on the evaluation split over seeds; then each requested
 * pair's differences, paired by seed (null with one seed or no pair present).
 */
export function trainingTables(
  rows: TrainingRow[],
  metric: string,
  pairs: [string, string][],
  digits: number,
): { seeds: number; summary: PlainTable; pairs: PlainTable | null } {
  const seeds = Math.max(0, ...rows.map((r) => Object.keys(r.dev).length));
  const count = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US') : '—');
  const summary = {
    head: ['adapter', 'trainable', 'head', `dev ${metric}`, `digital ${metric}`],
    rows: rows.map((r) => [r.variant, count(r.trainable), count(r.head), overSeeds(r.dev, digits), overSeeds(r.digital, digits)]),
  };
  const byName = new Map(rows.map((r) => [r.variant, r]));
  const diffs = pairs
    .filter(([a, b]) => byName.has(a) && byName.has(b))
    .map(([a, b]) => {
      const ra = byName.get(a)!;
      const rb = byName.get(b)!;
      return [`${a} − ${b}`, pairedOverSeeds(ra.dev, rb.dev, digits), pairedOverSeeds(ra.digital, rb.digital, digits)];
    });
  const paired = diffs.length && seeds > 1 ? { head: ['pair', `dev ${metric}`, `digital ${metric}`], rows: diffs } : null;
  return { seeds, summary, pairs: paired };
}

/** What the training tables say, for a caption: their columns and how pairs are compared. */
export function trainingCaption(metric: string, seeds: number): { summary: string; pairs: string } {
  return {
    summary: `Trainable parameters of the adapter and of the task head; dev = the kept checkpoint's dev ${metric}; digital = the ${metric} on the evaluation split with no device${seeds > 1 ? `; mean ± std over ${seeds} seeds` : ''}.`,
    pairs: 'Paired by seed: mean of the per-seed differences ± its standard error; * where significant at 5 % (two-sided t).',
  };
}

function trainingSection(rows: TrainingRow[], metric: string, pairs: [string, string][], digits: number): string[] {
  if (!rows.length) return [];
  const t = trainingTables(rows, metric, pairs, digits);
  const caption = trainingCaption(metric, t.seeds);
  const parts = [`## Training: ${metric} with no device`, '', caption.summary, '', table(t.summary.head, t.summary.rows), ''];
  if (t.pairs) parts.push(caption.pairs, '', table(t.pairs.head, t.pairs.rows), '');
  return parts;
}

/** Said by a report built before any trial is recorded. */
export const NOT_DEPLOYED =
  'No deployment results yet: the tables and charts of the devices follow once trials are recorded (rebuild the report then).';

/** report.md: every table of the report in Markdown, plus the requested comparisons. */
export function markdownReport(
  cells: Cell[],
  o: { title: string; metric: string; compare?: [string, string][]; training?: TrainingRow[] },
): string {
  const digits = 3;
  const parts: string[] = [`# ${o.title}`, '', ...trainingSection(o.training ?? [], o.metric, o.compare ?? [], digits)];
  if (!cells.length) {
    parts.push(NOT_DEPLOYED, '');
    return parts.join('\n');
  }
  const seeds = Math.max(...cells.map((c) => c.seeds));
  const over = seeds > 1 ? `mean ± std over ${seeds} seeds (each seed: the mean over its trials)` : 'mean ± std over trials';
  const times = [...new Set(cells.map((c) => c.t))].sort((x, y) => x - y);
  for (const g of [...new Set(cells.map((c) => `${c.device}|${c.noiseScale}`))]) {
    const cs = cells.filter((c) => `${c.device}|${c.noiseScale}` === g);
    const [device, scale] = g.split('|');
    const noise = scale !== '1' ? `, noise ×${scale}` : '';
    parts.push(`## ${device}${noise}: ${o.metric} after programming`, '', `${over}; digital = the same adapters with no device.`, '');
    const variants = [...new Set(cs.map((c) => c.variant))];
    parts.push(
      table(
        ['adapter', 'digital', ...times.map(formatDuration)],
        variants.map((v) => {
          const row = cs.filter((c) => c.variant === v);
          return variantRow(
            v,
            row,
            times.map((t) => row.find((c) => c.t === t)),
            digits,
          );
        }),
      ),
      '',
    );
  }
  for (const device of [...new Set(cells.map((c) => c.device))]) {
    const scales = [...new Set(cells.filter((c) => c.device === device).map((c) => c.noiseScale))].sort((x, y) => x - y);
    if (scales.length < 2) continue;
    for (const t of times) {
      const cs = cells.filter((c) => c.device === device && c.t === t);
      if (!cs.length) continue;
      parts.push(`## ${device}: ${o.metric} vs noise scale at ${formatDuration(t)}`, '');
      parts.push(`Programming and read noise × scale; ${over}.`, '');
      parts.push(
        table(
          ['adapter', 'digital', ...scales.map((s) => `×${s}`)],
          [...new Set(cs.map((c) => c.variant))].map((v) => {
            const row = cs.filter((c) => c.variant === v);
            return variantRow(
              v,
              row,
              scales.map((s) => row.find((c) => c.noiseScale === s)),
              digits,
            );
          }),
        ),
        '',
      );
    }
  }
  for (const [a, b] of o.compare ?? []) {
    const rows = compare(cells, a, b);
    if (!rows.length) {
      parts.push(`## ${a} − ${b}`, '', `No deployment has both ${a} and ${b}.`, '');
      continue;
    }
    const paired = rows.every((r) => r.paired);
    const drop = `Drop = digital − analog (for a higher-is-better metric, a negative drop difference means ${a} loses less on the device).`;
    const n = rows[0]!.n;
    const how = paired
      ? 'Paired by seed (a seed gives both adapters the same head initialization, batch order and chip draws): ' +
        `mean over ${n} seeds of the per-seed difference ± its standard error. ${drop} ` +
        `* where the difference is significant at 5 % (|diff| > t₀.₉₇₅,ₙ₋₁ · se; ${fmt(rows[0]!.critical, 2)} · se with ${n} seeds).`
      : `Difference of means ± standard error √(s_a²/n + s_b²/n) over trials. ${drop} * where significant at 5 % (two-sided t).`;
    const diffs = rows.map((r) => [
      r.device,
      `×${r.noiseScale}`,
      formatDuration(r.t),
      formatDiff(r.diff, r.se, r.critical, digits),
      formatDiff(r.dropDiff, r.dropSe, r.critical, digits),
    ]);
    parts.push(
      `## ${a} − ${b}`,
      '',
      how,
      '',
      table(['device', 'noise scale', 't', `${o.metric}: ${a} − ${b}`, `drop: ${a} − ${b}`], diffs),
      '',
    );
  }
  return parts.join('\n');
}
