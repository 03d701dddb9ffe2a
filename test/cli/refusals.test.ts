/** Bad values at the command line and in specs are refused with the option or JSON path — never read as something else. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';

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
    [{ trials: 1e9 }, /\/trials: must be <= 100000/],
    [{ training: { seq: 512 } }, /\/training\/seq: 512 tokens exceed the model's 128 positions/],
    [{ evaluation: { seq: 300 } }, /\/evaluation\/seq: 300 tokens exceed the model's 128 positions/],
    [{ adapters: [{ plugin: 'head', training: { seq: 129 } }] }, /\/adapters\/0\/training\/seq: 129 tokens exceed/],
    [{ adapters: [{ plugin: 'head', hwa: [{ device: 'ideal', time: '-1d' }] }] }, /\/adapters\/0\/hwa\/0\/time: '-1d' is not a duration/],
    [{ devices: [{ device: 'ideal', noiseScales: [1e308] }] }, /\/devices\/0\/noiseScales\/0: must be <= 1000/],
  ] as const) {
    it(`experiment validate refuses ${JSON.stringify(over)}`, async () => {
      const r = await cli('experiment', 'validate', spec(over));
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    });
  }
});
