import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTraining, resolveTraining, TRAINING_DEFAULTS, WARMUP_FRACTION } from '../../src/train/settings.js';
import { builtinPluginNames, loadPlugin } from '../../src/peft/registry.js';

describe('training settings', () => {
  it('nothing given: aimc defaults, warmup a fraction of the steps, each value sourced', () => {
    const r = resolveTraining([]);
    expect(r.settings).toMatchObject(TRAINING_DEFAULTS);
    expect(r.settings.warmup).toBe(Math.round(WARMUP_FRACTION * TRAINING_DEFAULTS.steps));
    expect(r.sources.lr).toBe('aimc default');
    expect(r.sources.warmup).toMatch(/aimc default \(10 % of steps\)/);
    expect(r.settings.evalLimit).toBeUndefined();
  });

  it('precedence: the first layer that sets a value, then the plugin, then aimc', () => {
    const plugin = { name: 'p', training: { lr: 0.02, weightDecay: 0 } };
    const r = resolveTraining(
      [
        { source: "adapter 'x' training", values: { steps: 50 } },
        { source: 'spec training', values: { steps: 300, batch: 4, weightDecay: 0.1 } },
      ],
      plugin,
    );
    expect(r.settings.steps).toBe(50);
    expect(r.sources.steps).toBe("adapter 'x' training");
    expect(r.settings.batch).toBe(4);
    expect(r.settings.weightDecay).toBe(0.1);
    expect(r.sources.weightDecay).toBe('spec training');
    expect(r.settings.lr).toBe(0.02);
    expect(r.sources.lr).toBe('plugin p');
    expect(r.settings.warmup).toBe(5);
    expect(describeTraining(r)).toContain('lr 0.02 (plugin p)');
  });

  it('warmup is capped at the steps', () => {
    expect(resolveTraining([{ source: 'option', values: { steps: 10, warmup: 50 } }]).settings.warmup).toBe(10);
  });

  it('every built-in plugin recommends a learning rate; PEFT methods at least 10× full fine-tuning', async () => {
    const full = (await loadPlugin('full')).plugin.training!.lr!;
    for (const n of builtinPluginNames()) {
      const lr = (await loadPlugin(n)).plugin.training?.lr;
      expect(lr, n).toBeGreaterThan(0);
      if (n !== 'full') expect(lr!, n).toBeGreaterThanOrEqual(10 * full);
    }
  });

  for (const [training, message] of [
    ['{ lr: -1 }', /training\.lr: expected a number in \(0, 10\), got -1/],
    ['{ lr: "fast" }', /training\.lr: expected a number/],
    ['{ warmup: 1.5 }', /training\.warmup: expected a non-negative integer/],
    ['{ momentum: 0.9 }', /training\.momentum: unknown setting/],
    ['[1, 2]', /training: expected an object/],
  ] as const) {
    it(`a third-party plugin declaring training ${training} is refused`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aimc-plugin-training-'));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'schema.json'), JSON.stringify({ type: 'object' }));
      writeFileSync(join(dir, 'index.mjs'), `export default { name: 'x', description: 'x', training: ${training}, create() { throw new Error('unused'); } };\n`);
      await expect(loadPlugin(dir)).rejects.toThrow(message);
    });
  }
});
