import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { DEVICES_DIR } from '../../src/device/profile.js';

afterEach(() => {
  process.exitCode = 0;
});

describe('aimc device', () => {
  it('list --json names every built-in profile', async () => {
    const { code, out } = await cli('device', 'list', '--json');
    expect(code).toBe(0);
    const names = (JSON.parse(out) as { name: string }[]).map((p) => p.name);
    expect(names).toEqual(['ideal', 'pcm-hermes-2023', 'pcm-hermes-2023-irdrop', 'pcm-nandakumar-2019', 'rram-wan-2022']);
  });

  it('validate accepts devices/*.json (the profiles and the schema itself)', async () => {
    const files = readdirSync(DEVICES_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(DEVICES_DIR, f));
    const { code, out } = await cli('device', 'validate', ...files);
    expect(code).toBe(0);
    expect(out.split('\n')).toHaveLength(files.length);
    expect(out).toContain('device.schema.json (JSON Schema)');
  });

  it('validate exits 1 on a broken profile, naming the file, path and expectation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-'));
    const bad = JSON.parse(readFileSync(join(DEVICES_DIR, 'pcm-nandakumar-2019.json'), 'utf8'));
    bad.conductance.gMax = -3;
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    const { code, err } = await cli('device', 'validate', file);
    expect(code).toBe(1);
    expect(err).toContain(file);
    expect(err).toContain('/conductance/gMax');
  });

  it('show --json prints gRel, t, gMean, gStd per (g, t)', async () => {
    const { code, out } = await cli(
      'device',
      'show',
      'pcm-nandakumar-2019',
      '--json',
      '--samples',
      '20000',
      '--g',
      '0.1,0.9',
      '--t',
      '1,1d',
    );
    expect(code).toBe(0);
    const rows = JSON.parse(out) as { gRel: number; t: number; gMean: number; gStd: number }[];
    expect(rows.map((r) => [r.gRel, r.t])).toEqual([
      [0.1, 1],
      [0.1, 86400],
      [0.9, 1],
      [0.9, 86400],
    ]);
    for (const r of rows) {
      expect(r.gMean).toBeGreaterThan(0);
      expect(r.gStd).toBeGreaterThan(0);
    }
    // Drift: a day later the mean conductance is lower.
    expect(rows[1]!.gMean).toBeLessThan(rows[0]!.gMean);
  });

  it('show rejects bad flags with a message naming the flag', async () => {
    const { code, err } = await cli('device', 'show', 'pcm-nandakumar-2019', '--t', '1,soon');
    expect(code).toBe(1);
    expect(err).toMatch(/--t: 'soon' is not a duration/);
  });

  it('show rejects an unknown device, listing the built-ins', async () => {
    const { code, err } = await cli('device', 'show', 'no-such-device');
    expect(code).toBe(1);
    expect(err).toContain('pcm-nandakumar-2019');
  });

  it('plot writes three SVG charts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-plot-'));
    const { code } = await cli('device', 'plot', 'pcm-nandakumar-2019', '--out', dir, '--samples', '2000');
    expect(code).toBe(0);
    for (const f of ['programming-noise.svg', 'conductance-vs-time.svg', 'weight-error-histograms.svg']) {
      const svg = readFileSync(join(dir, f), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('pcm-nandakumar-2019');
    }
  });
});
