import { describe, it, expect } from 'vitest';
import type { Cell } from '../../src/report/aggregate.js';
import { compare, markdownReport } from '../../src/report/markdown.js';

function cell(variant: string, t: number, mean: number, stdSeeds: number, extra: Partial<Cell> = {}): Cell {
  return { variant, adapter: variant.replace(/\+hwa$/, ''), hwa: 'none', device: 'pcm', noiseScale: 1, t, mean, stdTrials: 0.5, stdSeeds, seeds: 3, trials: 30, digital: 0.9, ...extra };
}

describe('markdown report', () => {
  it('a − b with the standard error over seeds, by hand', () => {
    const cells = [cell('a', 1, 0.8, 0.03), cell('b', 1, 0.75, 0.04), cell('a', 10, 0.7, 0.03), cell('b', 10, 0.71, 0.0)];
    const rows = compare(cells, 'a', 'b');
    expect(rows).toHaveLength(2);
    expect(rows[0]!.diff).toBeCloseTo(0.05, 12);
    expect(rows[0]!.se).toBeCloseTo(Math.sqrt((0.03 ** 2 + 0.04 ** 2) / 3), 12);
    expect(rows[1]!.diff).toBeCloseTo(-0.01, 12);
    // One seed: the spread and n come from the trials instead.
    const one = compare([cell('a', 1, 0.8, 0, { seeds: 1, trials: 4, stdTrials: 0.02 }), cell('b', 1, 0.8, 0, { seeds: 1, trials: 4, stdTrials: 0.02 })], 'a', 'b');
    expect(one[0]!.se).toBeCloseTo(Math.sqrt((2 * 0.02 ** 2) / 4), 12);
  });

  it('tables per device and scale, a scale table per time, and marks |diff| > 2 se', () => {
    const cells = [
      ...[0.5, 1, 2].flatMap((s) => [cell('a', 1, 0.8, 0.001, { noiseScale: s }), cell('b', 1, 0.7, 0.001, { noiseScale: s })]),
    ];
    const md = markdownReport(cells, { title: 'T', metric: 'accuracy', compare: [['a', 'b'], ['a', 'c']] });
    expect(md.match(/^## pcm.*after programming$/gm)).toHaveLength(3);
    expect(md).toContain('## pcm: accuracy vs noise scale at 1s');
    expect(md).toContain('| a | 0.900 | 0.800 ± 0.001 | 0.800 ± 0.001 | 0.800 ± 0.001 |');
    expect(md.match(/\| \+0\.100 ± 0\.001 \* \|/g)).toHaveLength(3);
    expect(md).toContain('No deployment has both a and c.');
  });
});
