import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/report/report.js';
import { checkInChromium, chromiumPath } from '../../src/report/browser.js';

/** A results.jsonl as the runner writes it: two adapters, two devices, two scales, three times, two trials. */
function syntheticRun(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aimc-report-'));
  const lines: object[] = [];
  const times = [1, 86400, 31536000];
  for (const adapter of ['grasp', 'lora']) {
    lines.push({ kind: 'train', key: `train|${adapter}`, adapter, plugin: adapter, seed: 's1', hwa: 'none', counts: { trainable: adapter === 'grasp' ? 384 : 16384, head: 16770, base: 1334400 } });
    lines.push({ kind: 'digital', key: `digital|${adapter}`, adapter, seed: 's1', hwa: 'none', metric: 'accuracy', higherIsBetter: true, value: 0.95 });
    for (const device of ['pcm-nandakumar-2019', 'rram-wan-2022']) {
      for (const noiseScale of [1, 2]) {
        lines.push({ kind: 'cost', key: `cost|${adapter}|${device}|${noiseScale}`, adapter, seed: 's1', hwa: 'none', device, noiseScale, placement: 'digital', analogEnergy: 1e5, digitalEnergy: adapter === 'grasp' ? 3000 : 60000, digitalMacs: 2000, latency: 3000, tiles: 24 });
        for (const t of times) for (const trial of [0, 1]) lines.push({ kind: 'result', key: `r|${adapter}|${device}|${noiseScale}|${t}|${trial}`, adapter, plugin: adapter, seed: 's1', hwa: 'none', device, noiseScale, t, trial, metric: 'accuracy', value: 0.9 - 0.01 * Math.log10(t + 1) * noiseScale - 0.005 * trial, digital: 0.95 });
      }
    }
  }
  for (const device of ['pcm-nandakumar-2019', 'rram-wan-2022']) lines.push({ kind: 'device', key: `device|${device}`, device, name: device, noiseScale: 1, compensation: true, relativeWeightNoise: times.map((t) => ({ t, value: 0.02 + 0.001 * Math.log(t + 1) })), cost: {}, tile: { rows: 512, cols: 512 } });
  writeFileSync(join(dir, 'results.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'synthetic', model: 'aimc-enc-tiny', task: 'spam' }));
  return dir;
}

const CHARTS = ['time-pcm-nandakumar-2019', 'scale-pcm-nandakumar-2019', 'time-rram-wan-2022', 'scale-rram-wan-2022', 'drop', 'params', 'devices', 'energy'];

// Chromium is a system package (.ci/run installs it); without it these tests report as skipped, not passed.
describe.skipIf(!chromiumPath())('report.html in headless Chromium', () => {
  it('renders every chart with no console message, and screenshots', async () => {
    const dir = syntheticRun();
    const { html } = await buildReport(dir);
    const res = await checkInChromium(html, join(dir, 'report.png'));
    expect(res.console).toEqual([]);
    expect(res.charts.map((c) => c.id).sort()).toEqual([...CHARTS].sort());
    for (const c of res.charts) {
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.height, c.id).toBeGreaterThan(50);
    }
    expect(existsSync(res.screenshot)).toBe(true);
    expect(statSync(res.screenshot).size).toBeGreaterThan(20_000);
  });

  it('the check can fail: a page with a script error and an empty chart is caught', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-badreport-'));
    const html = join(dir, 'bad.html');
    writeFileSync(html, '<!doctype html><html><body><figure data-chart="x"><p>no svg</p></figure><script>missing();</script></body></html>');
    const res = await checkInChromium(html, join(dir, 'bad.png'), 400, 300);
    expect(res.console.join('\n')).toMatch(/missing is not defined/);
    expect(res.charts).toEqual([{ id: 'x', width: 0, height: 0 }]);
  });
});
