import { describe, it, expect } from 'vitest';
import type { Cell } from '../../src/report/aggregate.js';
import { compare, formatDiff, markdownReport, NOT_DEPLOYED } from '../../src/report/markdown.js';
import { buildReport } from '../../src/report/report.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meanSe, tCritical } from '../../src/stats/summary.js';

/** A cell whose per-seed means are mean + offsets (digital 0.9 for every seed). */
function cell(variant: string, t: number, mean: number, offsets: number[], extra: Partial<Cell> = {}): Cell {
  const seeds = offsets.map((o) => mean + o);
  const sd = Math.sqrt(offsets.reduce((a, o) => a + o * o, 0) / Math.max(offsets.length - 1, 1));
  const bySeed = Object.fromEntries(seeds.map((m, i) => [`s${i + 1}`, { mean: m, digital: 0.9 }]));
  return {
    variant,
    adapter: variant.replace(/\+hwa$/, ''),
    hwa: 'none',
    device: 'pcm',
    noiseScale: 1,
    t,
    mean,
    stdTrials: 0.5,
    stdSeeds: sd,
    seeds: offsets.length,
    trials: 10 * offsets.length,
    digital: 0.9,
    bySeed,
    ...extra,
  };
}

describe('markdown report', () => {
  it('a − b paired by seed, by hand', () => {
    // Seed effects shared by both adapters cancel in the paired difference.
    const cells = [
      cell('a', 1, 0.8, [-0.03, 0, 0.03]),
      cell('b', 1, 0.75, [-0.02, 0, 0.02]),
      cell('a', 10, 0.7, [0.01, 0, -0.01]),
      cell('b', 10, 0.71, [0, 0, 0]),
    ];
    const rows = compare(cells, 'a', 'b');
    expect(rows).toHaveLength(2);
    expect(rows[0]!.paired).toBe(true);
    expect(rows[0]!.diff).toBeCloseTo(0.05, 12);
    // Per-seed differences 0.04, 0.05, 0.06: std 0.01, se 0.01/√3.
    expect(rows[0]!.se).toBeCloseTo(0.01 / Math.sqrt(3), 12);
    expect(rows[0]!.critical).toBe(4.303);
    // Same digital for both: the drop difference is minus the metric difference.
    expect(rows[0]!.dropDiff).toBeCloseTo(-0.05, 12);
    expect(rows[1]!.diff).toBeCloseTo(-0.01, 12);
    expect(rows[1]!.se).toBeCloseTo(0.01 / Math.sqrt(3), 12);
    // One seed: unpaired, spread and n from the trials.
    const one = compare(
      [cell('a', 1, 0.8, [0], { trials: 4, stdTrials: 0.02 }), cell('b', 1, 0.8, [0], { trials: 4, stdTrials: 0.02 })],
      'a',
      'b',
    );
    expect(one[0]!.paired).toBe(false);
    expect(one[0]!.se).toBeCloseTo(Math.sqrt((2 * 0.02 ** 2) / 4), 12);
    expect(one[0]!.critical).toBe(3.182);
    expect([tCritical(0), tCritical(1), tCritical(30), tCritical(500)]).toEqual([Infinity, 12.706, 2.042, 1.96]);
  });

  it('tables per device and scale, a scale table per time, and marks |diff| > 2 se', () => {
    const cells = [
      ...[0.5, 1, 2].flatMap((s) => [
        cell('a', 1, 0.8, [-0.001, 0, 0.001], { noiseScale: s }),
        cell('b', 1, 0.7, [0, 0, 0], { noiseScale: s }),
      ]),
    ];
    const md = markdownReport(cells, {
      title: 'T',
      metric: 'accuracy',
      compare: [
        ['a', 'b'],
        ['a', 'c'],
      ],
    });
    expect(md.match(/^## pcm.*after programming$/gm)).toHaveLength(3);
    expect(md).toContain('## pcm: accuracy vs noise scale at 1s');
    expect(md).toContain('| a | 0.900 | 0.800 ± 0.001 | 0.800 ± 0.001 | 0.800 ± 0.001 |');
    expect(md.match(/\| \+0\.100 ± 0\.001 \* \| -0\.100 ± 0\.001 \* \|/g)).toHaveLength(3);
    expect(md).toContain('No deployment has both a and c.');
  });
});

import { trainingRows } from '../../src/report/aggregate.js';
import type { ResultLine } from '../../src/experiment/store.js';

describe('markdown report: the training table', () => {
  const train = (adapter: string, seed: string, dev: number, trainable: number): ResultLine =>
    ({
      kind: 'train',
      key: `train|${adapter}|${seed}|none`,
      adapter,
      seed,
      hwa: 'none',
      metric: 'accuracy',
      counts: { trainable, head: 66306, base: 5e6 },
      dev: { accuracy: dev },
    }) as unknown as ResultLine;
  const digital = (adapter: string, seed: string, value: number): ResultLine =>
    ({
      kind: 'digital',
      key: `digital|${adapter}|${seed}|none`,
      adapter,
      seed,
      hwa: 'none',
      metric: 'accuracy',
      value,
    }) as unknown as ResultLine;

  /** An adapter's train and digital lines, seed s(i+1) having dev[i] and digital[i]. */
  const seeded = (adapter: string, trainable: number, dev: number[], dig: number[]): ResultLine[] => [
    ...dev.map((v, i) => train(adapter, `s${i + 1}`, v, trainable)),
    ...dig.map((v, i) => digital(adapter, `s${i + 1}`, v)),
  ];

  it('counts, dev and digital metrics over seeds, and the pairs paired by seed, by hand', () => {
    const lines = [
      ...seeded('head', 0, [0.91, 0.92, 0.93], [0.9, 0.9, 0.9]),
      ...seeded('grasp', 384, [0.93, 0.95, 0.94], [0.92, 0.93, 0.94]),
    ];
    const rows = trainingRows(lines);
    expect(rows.map((r) => [r.variant, r.trainable, r.head])).toEqual([
      ['head', 0, 66306],
      ['grasp', 384, 66306],
    ]);
    const md = markdownReport([], { title: 'T', metric: 'accuracy', compare: [['grasp', 'head']], training: rows });
    expect(md).toContain('| head | 0 | 66,306 | 0.920 ± 0.010 | 0.900 ± 0.000 |');
    expect(md).toContain('| grasp | 384 | 66,306 | 0.940 ± 0.010 | 0.930 ± 0.010 |');
    // Per-seed dev differences 0.02, 0.03, 0.01: mean 0.02, se 0.01/√3 = 0.0058 (2 < 4.303·0.0058: not marked);
    // digital 0.02, 0.03, 0.04: mean 0.03, se 0.0058 (> 4.303 · se: marked).
    expect(md).toContain('| grasp − head | +0.020 ± 0.006 | +0.030 ± 0.006 * |');
  });

  it('a difference with zero standard error (every seed the same) is not marked significant', () => {
    const lines = [...seeded('head', 0, [0.91, 0.92], [0.9, 0.9]), ...seeded('grasp', 384, [0.915, 0.925], [0.9, 0.91])];
    const md = markdownReport([], { title: 'T', metric: 'accuracy', compare: [['grasp', 'head']], training: trainingRows(lines) });
    // dev: +0.005 on both seeds (se 0: no test); digital: +0.000 and +0.010 (se 0.005, 12.7·se > 0.005).
    expect(md).toContain('| grasp − head | +0.005 ± 0.000 | +0.005 ± 0.005 |');
  });

  it('an se that is float rounding of zero is zero too: equal per-seed differences from different operands', () => {
    // A real case from claims-spam: the drops 0.0100 − 0.0033, 0.0333 − 0.0267, 0.0033 − (−0.0033) are 2/300 each,
    // but their float differences disagree in the 16th digit, so the se is ~6e-17 rather than 0.
    const drops = [
      0.010000000000000009 - 0.0033333333333332993,
      0.033333333333333326 - 0.026666666666666616,
      0.0033333333333332993 + 0.0033333333333332993,
    ];
    const { mean, se } = meanSe(drops);
    expect(se).toBeGreaterThan(0);
    expect(formatDiff(mean, se, 4.303)).toBe('+0.007 ± 0.000');
    // A real, small se is still tested: 0.007 > 4.303 · 0.001.
    expect(formatDiff(mean, 0.001, 4.303)).toBe('+0.007 ± 0.001 *');
  });

  it('a run still training is reported as far as it got: the training table, no device tables or charts; an empty run is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-train-only-'));
    const lines = [...seeded('head', 0, [0.91], [0.9]), ...seeded('grasp', 384, [0.93], [0.92])];
    writeFileSync(join(dir, 'results.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const out = await buildReport(dir, { compare: [['grasp', 'head']] });
    const md = readFileSync(out.markdown, 'utf8');
    expect(md).toContain('| grasp | 384 | 66,306 | 0.930 | 0.920 |');
    expect(md).toContain(NOT_DEPLOYED);
    expect(md).not.toContain('after programming');
    const html = readFileSync(out.html, 'utf8');
    expect(html).toContain('<td>grasp</td><td>384</td><td>66,306</td><td>0.9300</td><td>0.9200</td>');
    expect(html).not.toContain('<svg');
    const empty = mkdtempSync(join(tmpdir(), 'aimc-empty-run-'));
    writeFileSync(join(empty, 'results.jsonl'), '');
    await expect(buildReport(empty)).rejects.toThrow(/results\.jsonl: no results yet/);
  });
});
