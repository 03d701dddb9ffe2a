/** The MNIST examples (aihwkit's tutorial flow through convertToAnalog) run as a user runs them, in their quick form. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

interface Run {
  arch: string;
  trials: number;
  without: { digital: number; at: Record<string, number[]> };
  withHwa: { digital: number; at: Record<string, number[]> };
}

for (const [arch, floor] of [
  ['mlp', 0.5],
  ['cnn', 0.5],
] as const) {
  describe(`examples/mnist-analog.mjs ${arch}`, () => {
    it(`trains on MNIST above chance, and reads on PCM chips at 1 s, 1 d, 1 y close to its digital accuracy, with and without HWA`, () => {
      const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'mnist-analog.mjs'), arch, '--quick', '--json'], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
      expect(j.arch).toBe(arch);
      for (const run of [j.without, j.withHwa]) {
        expect(run.digital).toBeGreaterThan(floor);
        expect(Object.keys(run.at)).toEqual(['1', '86400', '31536000']);
        for (const accs of Object.values(run.at)) {
          expect(accs).toHaveLength(j.trials);
          for (const a of accs) expect(a).toBeGreaterThan(floor / 2);
        }
        // One second after programming the chip is nearly the float model.
        for (const a of run.at['1']!) expect(Math.abs(a - run.digital)).toBeLessThan(0.1);
      }
    });
  });
}
