import { describe, it, expect, beforeAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PluginConfigError, validatePluginConfig } from '../../src/peft/host.js';
import { builtinPluginNames, loadPlugin, PLUGINS_DIR } from '../../src/peft/registry.js';
import { PLUGIN_BASE_ID, PLUGIN_BASE_SCHEMA, pluginAjv } from '../../src/peft/schema.js';
import { configTypeProblems, readmeProblems } from './schema-check.js';

const SIX = ['attn.q', 'attn.k', 'attn.v', 'attn.o', 'ffn.in', 'ffn.out'];
const BASE_NAMES = Object.keys(PLUGIN_BASE_SCHEMA.definitions);

function schemaOf(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(PLUGINS_DIR, name, 'schema.json'), 'utf8')) as Record<string, unknown>;
}

describe('the shared config schema', () => {
  it('every built-in schema compiles with it registered, and references each shared field instead of copying it', () => {
    for (const name of builtinPluginNames()) {
      const schema = schemaOf(name);
      expect(() => pluginAjv().compile(schema), name).not.toThrow();
      for (const [prop, s] of Object.entries(schema.properties as Record<string, Record<string, unknown>>)) {
        if (!BASE_NAMES.includes(prop)) continue;
        expect(s.$ref, `${name}.${prop}`).toBe(`${PLUGIN_BASE_ID}#/definitions/${prop}`);
        // Beside the $ref only what differs per plugin: its default and a description.
        expect(Object.keys(s).filter((k) => !['$ref', 'default', 'description'].includes(k)), `${name}.${prop}`).toEqual([]);
      }
    }
  });

  it('holds no defaults: ajv fills in only a default beside the $ref, never one behind it', async () => {
    for (const [k, d] of Object.entries(PLUGIN_BASE_SCHEMA.definitions)) expect('default' in d, k).toBe(false);
    // The layout that does not work, shown: a default behind the reference is not applied.
    const ajv = pluginAjv();
    ajv.addSchema({ $id: 'test:with-default', definitions: { k: { type: 'integer', default: 3 } } });
    const behind = ajv.compile({ type: 'object', properties: { k: { $ref: 'test:with-default#/definitions/k' } } });
    const beside = ajv.compile({ type: 'object', properties: { k: { $ref: 'test:with-default#/definitions/k', default: 5 } } });
    const a: Record<string, unknown> = {};
    const b: Record<string, unknown> = {};
    expect(behind(a) && beside(b)).toBe(true);
    expect(a).toEqual({});
    expect(b).toEqual({ k: 5 });
  });

  it('defaults are filled in for every built-in, the shared fields included', async () => {
    const expected: Record<string, Record<string, unknown>> = {
      bitfit: { targets: SIX, layerNorm: true },
      full: {},
      grasp: { targets: SIX, groups: 8, grouping: 'contiguous', placement: 'digital' },
      head: {},
      ia3: { targets: ['attn.k', 'attn.v', 'ffn.out'], placement: 'digital' },
      lora: { targets: ['attn.q', 'attn.v'], rank: 8, alpha: 16, dropout: 0.1, placement: 'digital' },
      stochgrasp: { targets: SIX, groups: 8, grouping: 'contiguous', placement: 'digital', lambda: 0.1, initStd: 0.01, inference: 'mean' },
    };
    expect(builtinPluginNames()).toEqual(Object.keys(expected));
    for (const name of builtinPluginNames()) expect(validatePluginConfig(await loadPlugin(name), {}), name).toEqual(expected[name]);
    // Given values are kept, the rest still defaulted.
    expect(validatePluginConfig(await loadPlugin('grasp'), { layers: [1], placement: 'merged' })).toEqual({ targets: SIX, layers: [1], groups: 8, grouping: 'contiguous', placement: 'merged' });
  });

  // Whatever the describer's wording, each message names the source, the JSON path and what was expected.
  const refused: [string, Record<string, unknown>, string, RegExp][] = [
    ['lora', { targets: [] }, '/targets', /1/],
    ['grasp', { targets: [''] }, '/targets/0', /empty|character/],
    ['ia3', { targets: 'attn.q' }, '/targets', /array/],
    ['bitfit', { layers: [-1] }, '/layers/0', />= 0/],
    ['stochgrasp', { layers: [1.5] }, '/layers/0', /integer/],
    ['lora', { placement: 'analog' }, '/placement', /digital.*merged/],
    ['grasp', { groups: 0 }, '/groups', />= 1/],
    ['stochgrasp', { grouping: 'random' }, '/grouping', /contiguous.*permuted/],
  ];
  for (const [name, config, path, expectation] of refused) {
    it(`${name} ${JSON.stringify(config)} is refused at ${path}`, async () => {
      const p = await loadPlugin(name);
      let err: unknown;
      try {
        validatePluginConfig(p, config, 'cfg.json');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PluginConfigError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`cfg.json: invalid config for adapter '${name}':`)).toBe(true);
      const line = msg.split('\n').find((l) => l.trim().startsWith(`${path}:`));
      expect(line, msg).toBeDefined();
      expect(line).toMatch(expectation);
    });
  }

  it('a plugin from an outside folder references the shared fields by $id, even with an $id of its own', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'aimc-plugin-base-')), 'scaled');
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.js'), "export default { name: 'scaled', description: 'test', create() { throw new Error('not used'); } };\n");
    writeFileSync(join(dir, 'README.md'), '# scaled\n');
    writeFileSync(
      join(dir, 'schema.json'),
      JSON.stringify({
        $id: 'https://example.org/scaled.schema.json',
        type: 'object',
        additionalProperties: false,
        properties: {
          targets: { $ref: `${PLUGIN_BASE_ID}#/definitions/targets`, default: ['ffn.out'] },
          layers: { $ref: `${PLUGIN_BASE_ID}#/definitions/layers` },
          placement: { $ref: `${PLUGIN_BASE_ID}#/definitions/placement`, default: 'merged' },
        },
      }),
    );
    const p = await loadPlugin(dir);
    expect(validatePluginConfig(p, {})).toEqual({ targets: ['ffn.out'], placement: 'merged' });
    expect(() => validatePluginConfig(p, { layers: [] }, 'x.json')).toThrow(/x\.json: invalid config for adapter 'scaled':\n {2}\/layers: /);
  });
});

describe('a plugin\'s schema, config type and README agree', () => {
  const plugins = () => builtinPluginNames().map((n) => ({ name: n, module: join(PLUGINS_DIR, n, 'index.ts'), schema: schemaOf(n) }));
  // A plugin whose config type has drifted from lora's schema, checked in the same program as the built-ins (one program: it takes seconds).
  const drifted = join(mkdtempSync(join(tmpdir(), 'aimc-drift-')), 'index.ts');
  let problems: string[] = [];
  beforeAll(() => {
    const types = resolve('src/peft/types.ts').replace(/\.ts$/, '.js');
    writeFileSync(
      drifted,
      `import type { AdapterPlugin, Placement } from ${JSON.stringify(types)};
interface Drifted { targets: string[]; layers: number[]; placement: Placement; rank: string; extra?: number }
const plugin: AdapterPlugin<Drifted> = { name: 'drifted', description: '', create() { throw new Error(); } };
export default plugin;
`,
    );
    problems = configTypeProblems([...plugins(), { module: drifted, schema: schemaOf('lora') }]);
  });

  it('the config type each built-in declares (AdapterPlugin<C>) has exactly the schema\'s properties, types and optionality', () => {
    expect(problems.filter((p) => !p.startsWith(drifted))).toEqual([]);
  });

  it('the check is not vacuous: a drifted config type is caught', () => {
    const text = problems.filter((p) => p.startsWith(drifted)).join('\n');
    expect(text).toMatch(/'layers' should be optional/);
    expect(text).toMatch(/'rank' is string, the schema says number/);
    expect(text).toMatch(/no property 'alpha'/);
    expect(text).toMatch(/'extra' is not in the schema/);
  });

  it('each README documents every schema property with its default, and nothing else', () => {
    const problems = plugins().flatMap((p) => readmeProblems(join(PLUGINS_DIR, p.name, 'README.md'), p.schema));
    expect(problems).toEqual([]);
  });

  it('the README check is not vacuous', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-readme-'));
    const file = join(dir, 'README.md');
    writeFileSync(file, '# x\n\n| config | default | meaning |\n| --- | --- | --- |\n| `rank` | 4 | r |\n| `alpha` | 16 | |\n| `ranks` | — | typo |\n');
    const text = readmeProblems(file, schemaOf('lora')).join('\n');
    expect(text).toMatch(/'rank': the default column does not say the schema's default 8/);
    expect(text).toMatch(/alpha.*empty meaning cell/);
    expect(text).toMatch(/'targets' is not in the config table/);
    expect(text).toMatch(/'ranks' is documented but not in the schema/);
  });
});
