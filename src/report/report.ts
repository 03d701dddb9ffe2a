/**
 * The run report, rebuilt from results.jsonl alone: results.csv (one row per trial and time)
 * and a self-contained report.html — inline SVG charts rendered with vega-lite, inline CSS,
 * no script, nothing fetched — so it opens anywhere, offline.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { readResults, type ResultLine } from '../experiment/store.js';
import { formatDuration } from '../input/values.js';
import { aggregate, parameterCounts, trainingRows, variantOf, type Cell, type TrainingRow } from './aggregate.js';
import { renderSvg, VEGA_LITE_SCHEMA } from './vega.js';
import type { BudgetLine } from '../crossbar/noise-budget.js';
import {
  compare as compareCells,
  fmt,
  formatDiff,
  markdownReport,
  NOT_DEPLOYED,
  trainingCaption,
  trainingTables,
  type PlainTable,
} from './markdown.js';

const WIDTH = 520;
const HEIGHT = 260;

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** results.csv: one row per (variant, device, scale, time, trial). */
export function resultsCsv(lines: ResultLine[]): string {
  const cols = ['adapter', 'plugin', 'hwa', 'seed', 'device', 'noiseScale', 't', 'trial', 'metric', 'value', 'digital'];
  const rows = lines.filter((l) => l.kind === 'result').map((l) => cols.map((c) => csvCell(l[c])).join(','));
  return [cols.join(','), ...rows].join('\n') + '\n';
}

interface Chart {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

function metricOf(lines: ResultLine[]): { name: string; higherIsBetter: boolean } {
  const d = lines.find((l) => l.kind === 'digital');
  const r = lines.find((l) => l.kind === 'result');
  return { name: String(d?.metric ?? r?.metric ?? 'metric'), higherIsBetter: (d?.higherIsBetter as boolean | undefined) ?? true };
}

/** Per device: the metric vs time at its unit (else lowest) noise scale, and vs the noise scale at the last time. */
function deviceCharts(lines: ResultLine[], cells: Cell[], metric: string): Chart[] {
  const out: Chart[] = [];
  const devices = [...new Set(cells.map((c) => c.device))];
  const scalesOf = (d: string) => [...new Set(cells.filter((c) => c.device === d).map((c) => c.noiseScale))].sort((a, b) => a - b);
  const results = lines.filter((l) => l.kind === 'result');
  for (const d of devices) {
    const scale = scalesOf(d).includes(1) ? 1 : scalesOf(d)[0]!;
    const rows = results
      .filter((l) => l.device === d && l.noiseScale === scale)
      .map((l) => ({ variant: variantOf(l), t: l.t, value: l.value }));
    const digital = cells.filter((c) => c.device === d && c.noiseScale === scale).map((c) => ({ variant: c.variant, digital: c.digital }));
    out.push({
      id: `time-${d}`,
      title: `${metric} vs time on ${d}${scale !== 1 ? ` (noise ×${scale})` : ''}`,
      caption:
        'Mean over trials and seeds (line) with ±1 std over trials (band); time after programming on a log axis. ' +
        'Dashed lines: the digital (no device) result of the same adapters.',
      spec: {
        $schema: VEGA_LITE_SCHEMA,
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: rows },
            mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 },
            encoding: {
              x: { field: 't', type: 'quantitative', scale: { type: 'log' }, title: 'seconds after programming' },
              y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
              color: { field: 'variant', type: 'nominal', title: 'adapter' },
            },
          },
          {
            data: { values: rows },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 't', type: 'quantitative', scale: { type: 'log' } },
              y: { field: 'value', type: 'quantitative', aggregate: 'mean' },
              color: { field: 'variant', type: 'nominal' },
            },
          },
          {
            data: { values: digital },
            mark: { type: 'rule', strokeDash: [4, 3], opacity: 0.7 },
            encoding: { y: { field: 'digital', type: 'quantitative' }, color: { field: 'variant', type: 'nominal' } },
          },
        ],
      } as TopLevelSpec,
    });
    if (scalesOf(d).length > 1) {
      const tLast = Math.max(...cells.filter((c) => c.device === d).map((c) => c.t));
      const srows = results
        .filter((l) => l.device === d && l.t === tLast)
        .map((l) => ({ variant: variantOf(l), scale: l.noiseScale, value: l.value }));
      out.push({
        id: `scale-${d}`,
        title: `${metric} vs device-noise scale on ${d}, t = ${formatDuration(tLast)}`,
        caption: 'Programming and read noise multiplied by the scale (drift itself unchanged); mean with ±1 std over trials and seeds.',
        spec: {
          $schema: VEGA_LITE_SCHEMA,
          width: WIDTH,
          height: HEIGHT,
          data: { values: srows },
          layer: [
            {
              mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 },
              encoding: {
                x: { field: 'scale', type: 'quantitative', title: 'noise scale (× the profile)' },
                y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
                color: { field: 'variant', type: 'nominal', title: 'adapter' },
              },
            },
            {
              mark: { type: 'line', point: true },
              encoding: {
                x: { field: 'scale', type: 'quantitative' },
                y: { field: 'value', type: 'quantitative', aggregate: 'mean' },
                color: { field: 'variant', type: 'nominal' },
              },
            },
          ],
        } as TopLevelSpec,
      });
    }
  }
  return out;
}

/** Digital − analog per adapter, device and time (at the unit noise scale where a device has one). */
function dropChart(cells: Cell[], metric: string): Chart {
  const drop = cells
    .filter((c) => c.noiseScale === 1 || !cells.some((x) => x.device === c.device && x.noiseScale === 1))
    .map((c) => ({ variant: c.variant, device: c.device, time: formatDuration(c.t), t: c.t, drop: c.digital - c.mean }));
  return {
    id: 'drop',
    title: `Drop from the digital ${metric}`,
    caption: 'digital − analog mean per adapter, device and time (positive = worse on the device for a higher-is-better metric).',
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      data: { values: drop },
      mark: 'bar',
      encoding: {
        row: { field: 'device', type: 'nominal', title: null },
        x: { field: 'variant', type: 'nominal', title: null, axis: { labelAngle: -30 } },
        xOffset: { field: 'time', type: 'ordinal', sort: { field: 't' } },
        y: { field: 'drop', type: 'quantitative', title: `digital − analog ${metric}` },
        color: { field: 'time', type: 'ordinal', sort: { field: 't' }, title: 't' },
      },
      width: WIDTH,
      height: 160,
    } as TopLevelSpec,
  };
}

function paramsChart(lines: ResultLine[]): Chart {
  const counts = parameterCounts(lines);
  return {
    id: 'params',
    title: 'Trainable parameters per adapter',
    caption: 'Adapter parameters (task head excluded; log axis). The head, trained beside every adapter, is listed in the table.',
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      data: { values: counts.map((c) => ({ ...c, shown: Math.max(c.trainable, 1) })) },
      mark: 'bar',
      // Bars on a log axis start at 1, not 0.
      encoding: {
        y: { field: 'variant', type: 'nominal', title: null, sort: null },
        x: { field: 'shown', type: 'quantitative', scale: { type: 'log' }, title: 'trainable parameters (head excluded)' },
        x2: { datum: 1 },
        tooltip: [{ field: 'trainable' }],
      },
      width: WIDTH,
    } as TopLevelSpec,
  };
}

function devicesChart(lines: ResultLine[]): Chart {
  const devLines = lines.filter((l) => l.kind === 'device');
  const values = devLines.flatMap((l) =>
    (l.relativeWeightNoise as { t: number; value: number }[]).map((p) => ({ device: String(l.name), t: p.t, value: p.value })),
  );
  return {
    id: 'devices',
    title: 'Device characteristics: relative weight noise vs time',
    caption:
      'RMS error of programmed-and-drifted weights relative to the weight range ' +
      "(with each device's drift-compensation setting), per device and noise scale.",
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 't', type: 'quantitative', scale: { type: 'log' }, title: 'seconds after programming' },
        y: { field: 'value', type: 'quantitative', title: 'relative weight noise' },
        color: { field: 'device', type: 'nominal' },
      },
      width: WIDTH,
      height: HEIGHT,
    } as TopLevelSpec,
  };
}

/** The cost lines at the unit noise scale, one per (variant, device) — the last one recorded. */
function unitScaleCosts(lines: ResultLine[]): ResultLine[] {
  const costs = lines.filter((l) => l.kind === 'cost' && l.noiseScale === 1);
  return [...new Map(costs.map((l) => [`${variantOf(l)}|${l.device}`, l])).values()];
}

function energyChart(lines: ResultLine[]): Chart {
  const energy = unitScaleCosts(lines).flatMap((l) => [
    { variant: variantOf(l), device: l.device, part: 'analog MVMs', pJ: l.analogEnergy },
    { variant: variantOf(l), device: l.device, part: 'digital adapter', pJ: l.digitalEnergy },
  ]);
  return {
    id: 'energy',
    title: 'Estimated energy per token',
    caption:
      "From each profile's cost constants (DAC, ADC, cell reads per MVM) plus 1.5 pJ per digital adapter MAC " +
      '(an assumption, see docs). Merged adapters add no digital work.',
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      data: { values: energy },
      mark: 'bar',
      encoding: {
        row: { field: 'device', type: 'nominal', title: null },
        y: { field: 'variant', type: 'nominal', title: null, sort: null },
        x: { field: 'pJ', type: 'quantitative', aggregate: 'sum', title: 'pJ per token' },
        color: { field: 'part', type: 'nominal', title: null },
      },
      width: WIDTH,
    } as TopLevelSpec,
  };
}

/** A device line's budget entry: one source's line at one read time. */
type BudgetEntry = BudgetLine & { t: number };

/** The device lines that carry a noise budget (runs from before budgets were recorded have none), at the unit noise scale. */
function budgetLines(lines: ResultLine[]): ResultLine[] {
  return lines.filter((l) => l.kind === 'device' && Array.isArray(l.budget) && (l.noiseScale ?? 1) === 1);
}

function budgetChart(lines: ResultLine[]): Chart | null {
  const values = budgetLines(lines).flatMap((l) =>
    (l.budget as BudgetEntry[]).map((b) => ({
      device: String(l.device),
      t: formatDuration(b.t),
      source: b.source,
      value: b.relativeError,
    })),
  );
  if (!values.length) return null;
  return {
    id: 'budget',
    title: 'Noise budget: relative MVM error of one tile, each non-ideality alone',
    caption:
      '‖y − x·W‖ / ‖x·W‖ on random Gaussian weights and inputs, with one source of the profile switched on at a time ' +
      '(same chips and inputs for every source), and all together; per device and read time. `aimc tile error` measures it with more samples.',
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      data: { values },
      mark: 'bar',
      encoding: {
        row: { field: 'device', type: 'nominal', title: null },
        y: { field: 'source', type: 'nominal', title: null, sort: null },
        yOffset: { field: 't', type: 'nominal', sort: null },
        x: { field: 'value', type: 'quantitative', title: 'relative MVM error' },
        color: { field: 't', type: 'nominal', title: 'read at', sort: null },
      },
      width: WIDTH,
    } as TopLevelSpec,
  };
}

/** The budget as a table per device: sources down, read times across. */
function budgetTables(lines: ResultLine[]): string {
  let html = '';
  for (const l of budgetLines(lines)) {
    const b = l.budget as BudgetEntry[];
    const times = [...new Set(b.map((e) => e.t))];
    const sources = [...new Set(b.map((e) => e.source))];
    const body = sources.map((src) =>
      tr([esc(src), ...times.map((t) => fmt(b.find((e) => e.source === src && e.t === t)?.relativeError ?? NaN, 4))]),
    );
    html += `<h3>Noise budget: ${esc(l.device)}</h3>`;
    html += htmlTable(['source', ...times.map((t) => esc(formatDuration(t)))], body.join(''));
  }
  return html;
}

function charts(lines: ResultLine[], cells: Cell[]): Chart[] {
  const metric = metricOf(lines).name;
  const budget = budgetChart(lines);
  return [
    ...deviceCharts(lines, cells, metric),
    dropChart(cells, metric),
    paramsChart(lines),
    devicesChart(lines),
    ...(budget ? [budget] : []),
    energyChart(lines),
  ];
}

/** `<tr>` of `cells` (HTML already escaped) as `tag` cells. */
function tr(cells: (string | number)[], tag: 'td' | 'th' = 'td'): string {
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

/** A table: header cells (HTML) and the body rows (HTML). */
function htmlTable(head: string[], body: string): string {
  return `<table><thead>${tr(head, 'th')}</thead><tbody>${body}</tbody></table>`;
}

/** a − b per device, scale and time (metric and drop from digital), with standard errors. */
function comparisonTables(cells: Cell[], pairs: [string, string][], metric: string): string {
  return pairs
    .map(([a, b]) => {
      const rows = compareCells(cells, a, b);
      const body = rows
        .map((r) =>
          tr([
            esc(r.device),
            `×${esc(r.noiseScale)}`,
            esc(formatDuration(r.t)),
            esc(formatDiff(r.diff, r.se, r.critical, 4)),
            esc(formatDiff(r.dropDiff, r.dropSe, r.critical, 4)),
          ]),
        )
        .join('');
      const paired = rows.length && rows.every((r) => r.paired);
      const how = paired ? 'paired by seed (same head initialization, batch order and chip draws)' : 'over trials';
      const ab = `${esc(a)} − ${esc(b)}`;
      const head = ['device', 'noise', 't', `${esc(metric)}: ${ab}`, `drop: ${ab}`];
      return (
        `<h3>${ab}</h3>` +
        `<p>Mean difference ± standard error, ${how}; drop = digital − analog; * where significant at 5 % (two-sided Student t).</p>` +
        htmlTable(head, body || '<tr><td colspan="5">no deployment has both</td></tr>')
      );
    })
    .join('');
}

/** Per device and noise scale: each variant's digital metric and its mean ± spread at each time. */
function resultTables(cells: Cell[], metric: string): string {
  const times = [...new Set(cells.map((c) => c.t))].sort((a, b) => a - b);
  let html = '';
  const groups = [...new Set(cells.map((c) => `${c.device}|${c.noiseScale}`))];
  for (const g of groups) {
    const [device, scale] = g.split('|');
    const cs = cells.filter((c) => `${c.device}|${c.noiseScale}` === g);
    const variants = [...new Set(cs.map((c) => c.variant))];
    const seeds = Math.max(...cs.map((c) => c.seeds));
    const noise = scale !== '1' ? ` — noise ×${esc(scale)}` : '';
    const body = variants.map((v) => {
      const row = cs.filter((c) => c.variant === v);
      const at = times.map((t) => {
        const c = row.find((x) => x.t === t);
        return c ? `${fmt(c.mean, 4)} ± ${fmt(seeds > 1 ? c.stdSeeds : c.stdTrials, 4)}` : '—';
      });
      return tr([esc(v), fmt(row[0]!.digital, 4), ...at]);
    });
    html += `<h3>${esc(device)}${noise}: ${esc(metric)}, mean ± std over ${seeds > 1 ? `${seeds} seeds` : 'trials'}</h3>`;
    html += htmlTable(['adapter', 'digital', ...times.map((t) => esc(formatDuration(t)))], body.join(''));
  }
  return html;
}

/** The training table (and its paired differences) as HTML. */
function trainingHtml(rows: TrainingRow[], metric: string, compare: [string, string][]): string {
  if (!rows.length) return '';
  const t = trainingTables(rows, metric, compare, 4);
  const caption = trainingCaption(metric, t.seeds);
  const body = (x: PlainTable) => x.rows.map((r) => tr(r.map(esc))).join('');
  let html = `<h3>Training: ${esc(metric)} with no device</h3><p>${esc(caption.summary)}</p>`;
  html += htmlTable(t.summary.head.map(esc), body(t.summary));
  if (t.pairs) html += `<p>${esc(caption.pairs)}</p>${htmlTable(t.pairs.head.map(esc), body(t.pairs))}`;
  return html;
}

function tables(lines: ResultLine[], cells: Cell[], compare: [string, string][]): string {
  const metric = metricOf(lines).name;
  let html = resultTables(cells, metric);
  html += comparisonTables(cells, compare, metric);
  const counts = parameterCounts(lines);
  const params = counts.map((c) => tr([esc(c.variant), c.trainable, c.head, c.base, ((100 * c.trainable) / c.base).toFixed(3)]));
  html += `<h3>Parameters</h3>${htmlTable(['adapter', 'trainable', 'task head', 'base', '% of base'], params.join(''))}`;
  const costHead = [
    'adapter',
    'device',
    'placement',
    'tiles',
    'analog pJ',
    'digital adapter MACs',
    'digital pJ',
    'latency ns (sum of MVMs)',
  ];
  const costs = unitScaleCosts(lines).map((l) =>
    tr([
      esc(variantOf(l)),
      esc(l.device),
      esc(l.placement),
      esc(l.tiles),
      fmt(l.analogEnergy as number, 0),
      esc(l.digitalMacs),
      fmt(l.digitalEnergy as number, 0),
      fmt(l.latency as number, 0),
    ]),
  );
  html += `<h3>Estimated cost per token</h3>${htmlTable(costHead, costs.join(''))}`;
  html += budgetTables(lines);
  return html;
}

const CSS = [
  'body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}',
  'h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem}',
  'figure{margin:1.5rem 0}figcaption{color:#555;font-size:.9em;max-width:700px}',
  'table{border-collapse:collapse;margin:.5rem 0 1.5rem}' +
    'td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}',
  'code{background:#f4f4f4;padding:0 .2em}',
].join('\n');

/** What report.html shows of spec.json (when the run folder has one). */
interface SpecInfo {
  name?: string;
  description?: string;
  model?: string;
  task?: string;
  compare?: [string, string][];
}

/** Build results.csv and report.html in a run folder from its results.jsonl. */
export async function buildReport(
  dir: string,
  o: { compare?: [string, string][] } = {},
): Promise<{ html: string; csv: string; markdown: string }> {
  const lines = readResults(join(dir, 'results.jsonl'));
  const deployed = lines.some((l) => l.kind === 'result');
  // A run still training can be reported as far as it got (its training table).
  if (!deployed && !lines.some((l) => l.kind === 'digital')) throw new Error(`${dir}/results.jsonl: no results yet`);
  const cells = aggregate(lines);
  const csvFile = join(dir, 'results.csv');
  writeFileSync(csvFile, resultsCsv(lines));
  const specFile = join(dir, 'spec.json');
  const spec = existsSync(specFile) ? (JSON.parse(readFileSync(specFile, 'utf8')) as SpecInfo) : {};
  const mdFile = join(dir, 'report.md');
  const training = trainingRows(lines);
  const metric = metricOf(lines).name;
  const compare = o.compare ?? spec.compare ?? [];
  writeFileSync(
    mdFile,
    markdownReport(cells, {
      title: `aimc report — ${spec.name ?? dir}`,
      metric,
      compare,
      training,
    }),
  );
  const figures: string[] = [];
  for (const c of deployed ? charts(lines, cells) : []) {
    const svg = (await renderSvg(c.spec)).replace(/^<\?xml[^>]*>\s*/, '');
    figures.push(`<figure data-chart="${esc(c.id)}"><h3>${esc(c.title)}</h3>${svg}<figcaption>${esc(c.caption)}</figcaption></figure>`);
  }
  const title = `aimc report — ${esc(spec.name ?? dir)}`;
  const html = [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${CSS}</style></head>`,
    '<body>',
    `<h1>${title}</h1>`,
    `<p>${esc(spec.description ?? '')}</p>`,
    `<p>Model <code>${esc(spec.model ?? '?')}</code>, task <code>${esc(spec.task ?? '?')}</code>. ` +
      `Built from <code>results.jsonl</code> (${lines.length} lines); rebuild with <code>aimc report ${esc(dir)}</code>.</p>`,
    '<h2>Tables</h2>',
    trainingHtml(training, metric, compare),
    ...(deployed ? [tables(lines, cells, compare), '<h2>Charts</h2>', figures.join('\n')] : [`<p>${esc(NOT_DEPLOYED)}</p>`]),
    '</body></html>',
    '',
  ].join('\n');
  const htmlFile = join(dir, 'report.html');
  writeFileSync(htmlFile, html);
  return { html: htmlFile, csv: csvFile, markdown: mdFile };
}
