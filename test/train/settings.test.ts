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
    ['{ lr: -1 }', /index\.mjs: invalid plugin: \/training\/lr: expected number > 0, got -1/],
    ['{ lr: "fast" }', /\/training\/lr: expected number, got string 'fast'/],
    ['{ warmup: 1.5 }', /\/training\/warmup: expected integer, got 1\.5/],
    ['{ momentum: 0.9 }', /\/training\/momentum: unknown property 'momentum'/],
    ['[1, 2]', /\/training: expected object, got/],
  ] as const) {
    it(`a third-party plugin declaring training ${training} is refused`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aimc-plugin-training-'));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'schema.json'), JSON.stringify({ type: 'object' }));
      writeFileSync(join(dir, 'index.mjs'), `export default { name: 'x', description: 'x', training: ${training}, create() { throw new Error('unused'); } };\n`);
      await expect(loadPlugin(dir)).rejects.toThrow(message);
    });
  }

  it('a plugin folder may state what it is in plugin.json; a field given differently twice is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-plugin-manifest-'));
    writeFileSync(join(dir, 'schema.json'), JSON.stringify({ type: 'object' }));
    writeFileSync(join(dir, 'plugin.json'), JSON.stringify({ name: 'mine', description: 'd', training: { lr: 0.05 } }));
    writeFileSync(join(dir, 'index.mjs'), "export default { create() { throw new Error('unused'); } };\n");
    const { plugin } = await loadPlugin(dir);
    expect([plugin.name, plugin.description, plugin.training?.lr]).toEqual(['mine', 'd', 0.05]);
    const other = mkdtempSync(join(tmpdir(), 'aimc-plugin-manifest-'));
    writeFileSync(join(other, 'schema.json'), JSON.stringify({ type: 'object' }));
    writeFileSync(join(other, 'plugin.json'), JSON.stringify({ name: 'mine', description: 'd' }));
    writeFileSync(join(other, 'index.mjs'), "export default { name: 'theirs', create() { throw new Error('unused'); } };\n");
    await expect(loadPlugin(other)).rejects.toThrow(/index\.mjs: 'name' differs from .*plugin\.json's; give it in one place/);
    const bare = mkdtempSync(join(tmpdir(), 'aimc-plugin-manifest-'));
    writeFileSync(join(bare, 'schema.json'), JSON.stringify({ type: 'object' }));
    writeFileSync(join(bare, 'index.mjs'), "export default { create() { throw new Error('unused'); } };\n");
    await expect(loadPlugin(bare)).rejects.toThrow(/invalid plugin: .*missing required property 'name'/);
  });
});
