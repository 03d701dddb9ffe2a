/**
 * The report's tables as Markdown (report.md): per device and noise scale the metric of each
 * adapter over time, per device with a noise sweep the metric over scales, and optional
 * head-to-head comparisons of two adapters — the form a README or an issue note quotes.
 */
import { formatDuration } from '../device/duration.js';
import type { Cell } from './aggregate.js';

function fmt(x: number, digits: number): string {
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
  /** mean(a) − mean(b) of the metric. */
  diff: number;
  /** Standard error of the difference: √(s_a²/n_a + s_b²/n_b) over seeds (over trials with one seed). */
  se: number;
  n: number;
}

/** a − b per (device, scale, time) where both were deployed. */
export function compare(cells: Cell[], a: string, b: string): Comparison[] {
  const out: Comparison[] = [];
  for (const ca of cells.filter((c) => c.variant === a)) {
    const cb = cells.find((c) => c.variant === b && c.device === ca.device && c.noiseScale === ca.noiseScale && c.t === ca.t);
    if (!cb) continue;
    const n = (c: Cell) => (c.seeds > 1 ? c.seeds : c.trials);
    out.push({ device: ca.device, noiseScale: ca.noiseScale, t: ca.t, diff: ca.mean - cb.mean, se: Math.sqrt(spread(ca) ** 2 / n(ca) + spread(cb) ** 2 / n(cb)), n: Math.min(n(ca), n(cb)) });
  }
  return out;
}

/** report.md: every table of the report in Markdown, plus the requested comparisons. */
export function markdownReport(cells: Cell[], o: { title: string; metric: string; compare?: [string, string][] }): string {
  const digits = 3;
  const parts: string[] = [`# ${o.title}`, ''];
  const seeds = Math.max(...cells.map((c) => c.seeds));
  const over = seeds > 1 ? `mean ± std over ${seeds} seeds (each seed: the mean over its trials)` : 'mean ± std over trials';
  const times = [...new Set(cells.map((c) => c.t))].sort((x, y) => x - y);
  for (const g of [...new Set(cells.map((c) => `${c.device}|${c.noiseScale}`))]) {
    const cs = cells.filter((c) => `${c.device}|${c.noiseScale}` === g);
    const [device, scale] = g.split('|');
    parts.push(`## ${device}${scale !== '1' ? `, noise ×${scale}` : ''}: ${o.metric} after programming`, '', `${over}; digital = the same adapters with no device.`, '');
    const variants = [...new Set(cs.map((c) => c.variant))];
    parts.push(
      table(
        ['adapter', 'digital', ...times.map(formatDuration)],
        variants.map((v) => {
          const row = cs.filter((c) => c.variant === v);
          return [v, fmt(row[0]!.digital, digits), ...times.map((t) => row.find((c) => c.t === t)).map((c) => (c ? `${fmt(c.mean, digits)} ± ${fmt(spread(c), digits)}` : '—'))];
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
      parts.push(`## ${device}: ${o.metric} vs noise scale at ${formatDuration(t)}`, '', `Programming and read noise × scale; ${over}.`, '');
      parts.push(
        table(
          ['adapter', 'digital', ...scales.map((s) => `×${s}`)],
          [...new Set(cs.map((c) => c.variant))].map((v) => {
            const row = cs.filter((c) => c.variant === v);
            return [v, fmt(row[0]!.digital, digits), ...scales.map((s) => row.find((c) => c.noiseScale === s)).map((c) => (c ? `${fmt(c.mean, digits)} ± ${fmt(spread(c), digits)}` : '—'))];
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
    parts.push(
      `## ${a} − ${b}`,
      '',
      `Difference of the mean ${o.metric} ± its standard error (√(s_a²/n + s_b²/n), n = ${seeds > 1 ? 'seeds' : 'trials'}); |diff| > 2 se marked *.`,
      '',
      table(
        ['device', 'noise scale', 't', `${a} − ${b}`],
        rows.map((r) => [r.device, `×${r.noiseScale}`, formatDuration(r.t), `${r.diff >= 0 ? '+' : ''}${fmt(r.diff, digits)} ± ${fmt(r.se, digits)}${Math.abs(r.diff) > 2 * r.se ? ' *' : ''}`]),
      ),
      '',
    );
  }
  return parts.join('\n');
}
