import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { loadAdapter } from '../../src/peft/state.js';
import { cli } from '../helpers/cli.js';
import { tinyEncoderOnDisk } from '../helpers/tiny.js';

let modelDir: string;
let dataFile: string;

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
  ({ modelDir, dataFile } = await tinyEncoderOnDisk('aimc-cli-ad-'));
});

describe('aimc adapter', () => {
  it('list shows the seven built-ins with their formulas', async () => {
    const r = await cli('adapter', 'list', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { name: string; formula: string }[];
    expect(list.map((p) => p.name)).toEqual(['bitfit', 'full', 'grasp', 'head', 'ia3', 'lora', 'stochgrasp']);
    expect(list.find((p) => p.name === 'grasp')!.formula).toMatch(/2·K/);
  });

  it('params --json counts adapter, head and base', async () => {
    const r = await cli('adapter', 'params', 'grasp', '--model', modelDir, '--config', '{"groups": 4}', '--json');
    expect(r.code).toBe(0);
    const c = JSON.parse(r.out) as { trainable: number; head: number; base: number };
    // 2 layers × 6 sites × 2·K
    expect(c.trainable).toBe(2 * 6 * 2 * 4);
    expect(c.head).toBe(16 * 16 + 16 + 16 * 2 + 2);
    const lora = JSON.parse((await cli('adapter', 'params', 'lora', '--model', modelDir, '--config', '{"rank": 8}', '--json')).out) as { trainable: number; base: number };
    expect(lora.trainable).toBe(2 * 2 * 8 * 32);
    expect(lora.base).toBe(c.base);
  });

  it('params rejects a malformed config with the schema message, naming the file', async () => {
    const f = join(modelDir, 'bad.json');
    writeFileSync(f, JSON.stringify({ rank: 0 }));
    const r = await cli('adapter', 'params', 'lora', '--model', modelDir, '--config', f);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}: invalid config for adapter 'lora'`);
    expect(r.err).toContain('/rank: expected integer >= 1, got 0');
    const j = await cli('adapter', 'params', 'lora', '--model', modelDir, '--config', '{rank: 2}');
    expect(j.err).toMatch(/--config: invalid JSON at line 1, column 2: expected a property name in double quotes, got 'r'/);
  });
});

describe('aimc finetune with a plugin', () => {
  it('trains grasp, prints the budget and writes an adapter that loads back', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aimc-ft-out-')), 'grasp');
    const r = await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'grasp', '--config', '{"groups": 4}', '--steps', '40', '--batch', '8', '--lr', '1e-2', '--warmup', '4', '--eval-every', '20', '--seed', 's1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/grasp: 96 trainable parameters \(\d\.\d{3}% of the \d+ base\) \+ 306 task head/);
    expect(r.out).toMatch(/dev accuracy \d\.\d{4}/);
    const summary = JSON.parse(readFileSync(join(out, 'finetune.json'), 'utf8')) as { counts: { trainable: number }; dev: { accuracy: number }; history: unknown[] };
    expect(summary.counts.trainable).toBe(96);
    expect(summary.history).toHaveLength(40);
    expect(existsSync(join(out, 'adapter.safetensors'))).toBe(true);
    const model = loadCheckpoint(modelDir, { numLabels: 2 });
    const a = await loadAdapter(out, model);
    expect(a.plugin.plugin.name).toBe('grasp');
    a.dispose();
    model.dispose();
  });

  it('--hwa trains against a device and records it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aimc-ft-out-')), 'sg');
    const r = await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'stochgrasp', '--hwa', 'pcm-nandakumar-2019', '--hwa-time', '1h', '--steps', '10', '--batch', '4', '--eval-every', '10', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('hardware-aware training on pcm-nandakumar-2019 at t = 1h');
    // Unset values come from the plugin's recommendation or aimc's defaults, and say so.
    expect(r.out).toMatch(/training: steps 10 \(option\), batch 4 \(option\), seq 128 \(aimc default\), lr 0\.01 \(plugin stochgrasp\), warmup 1 \(aimc default \(10 % of steps\)\)/);
    const summary = JSON.parse(readFileSync(join(out, 'finetune.json'), 'utf8')) as { hwa: { device: string; t: number } };
    expect(summary.hwa).toEqual({ device: 'pcm-nandakumar-2019', t: 3600 });
  });

  it('--test-limit evaluates a fixed subset of the test split and says how many', async () => {
    const run = async (dir: string) => {
      const out = join(mkdtempSync(join(tmpdir(), 'aimc-ft-tl-')), dir);
      const r = await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'bitfit', '--steps', '2', '--batch', '4', '--eval-every', '2', '--test-limit', '3', '--out', out);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/; test \(3 examples\): /);
      return JSON.parse(readFileSync(join(out, 'finetune.json'), 'utf8')) as { testExamples: number; test: Record<string, number> };
    };
    const [a, b] = [await run('a'), await run('b')];
    expect(a.testExamples).toBe(3);
    expect(b.test).toEqual(a.test);
    expect((await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'bitfit', '--test-limit', '0', '--out', join(tmpdir(), 'aimc-never-tl'))).err).toMatch(/--test-limit/);
  });

  it('refuses bad input before any work: unknown adapter, bad device, bad duration', async () => {
    const out = join(tmpdir(), 'aimc-never-written');
    expect((await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'lorra', '--out', out)).err).toMatch(/unknown adapter 'lorra'/);
    expect((await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'grasp', '--hwa', 'nope', '--out', out)).err).toMatch(/nope/);
    expect((await cli('finetune', '--model', modelDir, '--task', dataFile, '--adapter', 'grasp', '--hwa-time', 'soon', '--out', out)).err).toMatch(/--hwa-time: 'soon' is not a duration/);
    expect(existsSync(out)).toBe(false);
  });
});
