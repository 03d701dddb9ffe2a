/** Bad values at the command line and in specs are refused with the option or JSON path — never read as something else. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { initBackend } from '../../src/tensor/backend.js';
import { nativeAddon } from '../../src/tensor/kernels/index.js';

const dir = mkdtempSync(join(tmpdir(), 'aimc-refuse-'));

describe('command-line values', () => {
  for (const [ids, message] of [
    ['1,,2', /--ids: entry 2 of '1,,2' is empty/],
    ['4294967301', /--ids: '4294967301' is not an integer in \[0, 4095\]/],
    ['5,4096', /--ids: '4096' is not an integer in \[0, 4095\]/],
    ['-1', /--ids: '-1' is not an integer/],
    ['1.5', /--ids: '1.5' is not an integer/],
  ] as const) {
    it(`model run --ids ${ids}`, async () => {
      const r = await cli('model', 'run', 'aimc-dec-tiny', '--ids', ids, '--json');
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.out).toBe('');
    });
  }

  for (const [args, message] of [
    [['--noise-scale', ''], /--noise-scale: '' is not a finite number in \[0, 1000\]/],
    [['--noise-scale', 'x'], /--noise-scale: 'x' is not a finite number/],
    [['--noise-scale', '1e308'], /--noise-scale: '1e308' is not a finite number in \[0, 1000\]/],
    [['--times', '1s,,1d'], /--times: entry 2 of '1s,,1d' is empty/],
    [['--times', '-100'], /--times: '-100' is not a duration/],
    [['--times', '1e400y'], /--times: '1e400y' is not a duration in \(0, 1000y\]/],
    [['--trials', '1e9'], /--trials: '1e9' is not an integer in \[1, 100000\]/],
    [['--trials', '0'], /--trials: '0' is not an integer in \[1, 100000\]/],
  ] as const) {
    it(`deploy ${args.join(' ')}`, async () => {
      const r = await cli('deploy', '--model', 'aimc-enc-tiny', '--task', 'spam', '--device', 'ideal', '--out', join(dir, 'never.json'), ...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    });
  }

  for (const [args, message] of [
    [['--samples', '3e8'], /--samples: '3e8' is not an integer in \[1, 10000000\]/],
    [['--g', '0.1,,0.5'], /--g: entry 2 of '0.1,,0.5' is empty/],
    [['--t', '0'], /--t: '0' is not a duration in \(0, 1000y\]/],
  ] as const) {
    it(`device show ${args.join(' ')}`, async () => {
      const r = await cli('device', 'show', 'pcm-nandakumar-2019', ...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    });
  }

  it('finetune --seq longer than the model is refused before training', async () => {
    const r = await cli('finetune', '--model', 'aimc-enc-tiny', '--task', 'spam', '--adapter', 'head', '--seq', '512', '--steps', '1', '--out', join(dir, 'ft'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/sequence length 512 \(option\) exceeds the model's 128 positions/);
  });
});

describe('experiment specs', () => {
  const spec = (over: Record<string, unknown>) => {
    const f = join(dir, `spec-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      f,
      JSON.stringify({ name: 'refuse', model: 'aimc-enc-tiny', task: 'spam', adapters: [{ plugin: 'head' }], devices: [{ device: 'ideal' }], times: ['1d'], trials: 2, ...over }),
    );
    return f;
  };
  for (const [over, message] of [
    [{ times: [-100] }, /\/times\/0: '-100' is not a duration in \(0, 1000y\]/],
    [{ times: [0, '1d'] }, /\/times\/0: '0' is not a duration/],
    [{ times: ['1e400y'] }, /\/times\/0: '1e400y' is not a duration/],
    [{ trials: 1e9 }, /\/trials: expected integer <= 100000, got 1000000000/],
    [{ training: { seq: 512 } }, /\/training\/seq: 512 tokens exceed the model's 128 positions/],
    [{ evaluation: { seq: 300 } }, /\/evaluation\/seq: 300 tokens exceed the model's 128 positions/],
    [{ adapters: [{ plugin: 'head', training: { seq: 129 } }] }, /\/adapters\/0\/training\/seq: 129 tokens exceed/],
    [{ adapters: [{ plugin: 'head', hwa: [{ device: 'ideal', time: '-1d' }] }] }, /\/adapters\/0\/hwa\/0\/time: '-1d' is not a duration/],
    [{ devices: [{ device: 'ideal', noiseScales: [1e308] }] }, /\/devices\/0\/noiseScales\/0: expected number <= 1000, got 1e\+308/],
    [{ adapters: [{ plugin: 'lora', config: { rank: 10000000 } }] }, /\/adapters\/0: lora: rank 10000000 exceeds encoder\.0\.attn\.q's smaller dimension 128/],
    [{ adapters: [{ plugin: 'grasp', config: { groups: 1000 } }] }, /\/adapters\/0: .*K = 1000 exceeds the 128 input features/],
    [{ adapters: [{ plugin: 'lora', config: { targets: ['nothing.*'] } }] }, /\/adapters\/0: .*nothing/],
  ] as const) {
    it(`experiment validate refuses ${JSON.stringify(over)}`, async () => {
      const r = await cli('experiment', 'validate', spec(over));
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    });
  }

  it('experiment validate refuses a training job bigger than the engine holds (on wasm: its 4 GB heap)', async () => {
    // On the wasm backend the limit is the same on every machine; the aimc backend's is the machine's memory.
    await initBackend('wasm');
    try {
      const r = await cli('experiment', 'validate', spec({ training: { batch: 4096, seq: 128 } }));
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(
        /\/training: batch 4096 × 128 tokens on this 1\.\d M-parameter model needs about \d+\.\d GB, more than the wasm engine's 4 GB heap \(the aimc backend, with the native kernels, has no such ceiling\); lower training\.batch or training\.seq/,
      );
    } finally {
      await initBackend(nativeAddon() ? 'aimc' : 'wasm');
    }
  });
});

import { cpSync, readFileSync } from 'node:fs';
import { modelsDir } from '../../src/model/load.js';
import { describeFailure } from '../../src/cli/program.js';

describe('messages, not internals', () => {
  const copyModel = (edit: (cfg: Record<string, unknown>) => unknown) => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-cfg-'));
    cpSync(join(modelsDir(), 'aimc-enc-tiny'), d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(d, 'config.json'), JSON.stringify(edit(cfg)));
    return d;
  };
  for (const [what, edit, message] of [
    ['null', () => null, /config\.json: expected a JSON object with the model's sizes, got null/],
    ['an array', () => [1], /config\.json: expected a JSON object .* got an array/],
    ['numLabels 1e8', (c: Record<string, unknown>) => ({ ...c, numLabels: 1e8 }), /numLabels: expected an integer in \[0, 100000\], got 100000000/],
    ['vocabSize 1e9', (c: Record<string, unknown>) => ({ ...c, vocabSize: 1e9 }), /vocabSize: 1000000000 is beyond what aimc can hold/],
    ['hiddenSize 40000 × 1000 layers', (c: Record<string, unknown>) => ({ ...c, hiddenSize: 40000, numHeads: 4, numLayers: 1000 }), /describe .* parameters; aimc holds at most 1e\+9/],
    ['a vocabulary the weights do not have', (c: Record<string, unknown>) => ({ ...c, vocabSize: 5000 }), /vocabSize 5000 × hiddenSize 128 does not match .*embed\.tokens \[4096, 128\]/],
  ] as const) {
    it(`a checkpoint whose config.json is ${what} is refused before anything is allocated`, async () => {
      const d = copyModel(edit as (c: Record<string, unknown>) => unknown);
      const r = await cli('model', 'info', d, '--json');
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/internal error|Cannot read properties/);
    });
  }

  it('lora with a rank beyond the model is refused before allocating', async () => {
    const r = await cli('adapter', 'params', 'lora', '--model', 'aimc-enc-tiny', '--config', '{"rank": 10000000}');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/lora: rank 10000000 exceeds encoder\.0\.attn\.q's smaller dimension 128/);
  });

  it('finetune --out naming an existing file is refused before training', async () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'keep me');
    const r = await cli('finetune', '--model', 'aimc-enc-tiny', '--task', 'spam', '--adapter', 'head', '--out', f);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--out: .*a-file exists and is a file; give a folder/);
    expect(readFileSync(f, 'utf8')).toBe('keep me');
  });

  it('deploy --out naming a folder is refused before any trial', async () => {
    const r = await cli('deploy', '--model', 'aimc-enc-tiny', '--task', 'spam', '--device', 'ideal', '--out', dir);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--out: .* is a folder; give a file name/);
  });

  it('an unforeseen defect says so in one line, with a way to report it', () => {
    const m = describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(m).toMatch(/^aimc: internal error — a case aimc did not foresee/);
    expect(m).toMatch(/Please report it/);
    expect(m.split('\n')).toHaveLength(1);
    expect(describeFailure(new Error('spec.json: /times/0: bad'))).toBe('aimc: spec.json: /times/0: bad');
    expect(describeFailure('a string')).toMatch(/internal error/);
  });
});
