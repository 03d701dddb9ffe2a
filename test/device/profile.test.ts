import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import {
  compileSchemaText,
  DEVICES_DIR,
  isJsonSchema,
  listProfiles,
  loadProfile,
  parseProfileText,
  ProfileError,
  validateProfile,
} from '../../src/device/profile.js';

type Json = Record<string, any>;
const BUILTINS = ['ideal', 'pcm-hermes-2023', 'pcm-hermes-2023-irdrop', 'pcm-nandakumar-2019', 'rram-wan-2022'];
const read = (name: string) => readFileSync(join(DEVICES_DIR, `${name}.json`), 'utf8');
const copy = (name = 'pcm-nandakumar-2019') => JSON.parse(read(name)) as Json;

/** Validate a broken copy of a built-in; return the ProfileError it must raise. */
function rejects(mutate: (p: Json) => void, from = 'pcm-nandakumar-2019'): ProfileError {
  const p = copy(from);
  mutate(p);
  try {
    validateProfile(p, 'my-device.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return e as ProfileError;
  }
  throw new Error('the broken profile was accepted');
}

/** The message line for one JSON path; fails listing all lines when there is none. */
function lineFor(e: ProfileError, path: string, file = 'my-device.json'): string {
  const line = e.message.split('\n').find((l) => l.startsWith(`${file}: ${path}: `));
  expect(line, `no line for ${path} in:\n${e.message}`).toBeDefined();
  return line!;
}

describe('built-in profiles', () => {
  it('all five are listed, sorted, and validate', () => {
    const listed = listProfiles();
    expect(listed.map((p) => p.name)).toEqual(BUILTINS);
    for (const p of listed) {
      expect(p.file).toBe(join(DEVICES_DIR, `${p.name}.json`));
      expect(p.description.length).toBeGreaterThan(20);
      expect(loadProfile(p.name).name).toBe(p.name);
      expect(() => validateProfile(JSON.parse(read(p.name)), p.file)).not.toThrow();
    }
  });

  it('carry sourced cost constants (no placeholders)', () => {
    for (const name of BUILTINS) {
      const { cost } = loadProfile(name);
      expect(cost.sources.join(' ')).not.toMatch(/TODO/);
      for (const k of ['dacEnergy', 'adcEnergy', 'cellReadEnergy', 'mvmLatency'] as const) expect(cost[k]).toBeGreaterThan(0);
    }
  });

  it('DEVICES_DIR is the repository devices/ folder', () => {
    expect(existsSync(join(DEVICES_DIR, 'device.schema.json'))).toBe(true);
    expect(existsSync(join(DEVICES_DIR, 'README.md'))).toBe(true);
  });

  it('the example profiles in devices/examples validate, and every optional section appears in one', () => {
    const dir = join(DEVICES_DIR, 'examples');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const p = loadProfile(join(dir, f));
      if (f === 'pcm-all-sections.json') {
        expect(
          p.temperature && p.programming.writeVerify && p.mapping.slices && p.periphery.inputBitsPerPass && p.tile.irDrop,
        ).toBeTruthy();
        expect(p.periphery.adc.model).toBe('sar');
      }
    }
  });

  it('loads a profile by path', () => {
    expect(loadProfile(join(DEVICES_DIR, 'ideal.json')).name).toBe('ideal');
  });

  it('unknown names list the built-ins; unreadable files are named', () => {
    expect(() => loadProfile('pcm-nope')).toThrow(
      /unknown device 'pcm-nope' \(built-in: ideal, pcm-hermes-2023, pcm-hermes-2023-irdrop, pcm-nandakumar-2019, rram-wan-2022; or give a path/,
    );
    expect(() => loadProfile('/nonexistent/dev.json')).toThrow(
      /^\/nonexistent\/dev.json: cannot read device profile \(ENOENT: no such file or directory\)$/,
    );
  });
});

describe('the schema', () => {
  const text = readFileSync(join(DEVICES_DIR, 'device.schema.json'), 'utf8');
  const root = JSON.parse(text) as Json;

  it('compiles under ajv strict mode', () => {
    expect(isJsonSchema(text)).toBe(true);
    expect(() => compileSchemaText(text, 'device.schema.json')).not.toThrow();
    expect(() => new Ajv({ strict: true, allowUnionTypes: true }).compile(root)).not.toThrow();
  });

  it('documents every property and closes every object', () => {
    const undocumented: string[] = [];
    const open: string[] = [];
    const walk = (node: Json, at: string) => {
      if (node.properties) {
        if (node.additionalProperties !== false) open.push(at || '/');
        for (const [k, sub] of Object.entries(node.properties as Record<string, Json>)) {
          if (typeof sub.description !== 'string' || sub.description.length < 10) undocumented.push(`${at}/${k}`);
          walk(sub, `${at}/${k}`);
        }
      }
      if (node.items) {
        if (typeof node.items.description !== 'string') undocumented.push(`${at}/items`);
        walk(node.items as Json, `${at}/items`);
      }
    };
    walk(root, '');
    expect(undocumented).toEqual([]);
    expect(open).toEqual([]);
  });

  it('requires every section of types.ts, the nullable ones included', () => {
    expect(root.required).toEqual([
      'name',
      'description',
      'sources',
      'conductance',
      'mapping',
      'programming',
      'drift',
      'readNoise',
      'relaxation',
      'faults',
      'scales',
      'periphery',
      'tile',
      'driftCompensation',
      'cost',
    ]);
    for (const s of ['drift', 'readNoise', 'relaxation']) expect(root.properties[s].type).toEqual(['object', 'null']);
    for (const s of ['conductance', 'mapping', 'programming', 'faults']) expect(root.properties[s].type).toBe('object');
  });

  it('states the unit of every dimensioned field', () => {
    const p = root.properties;
    expect(p.conductance.properties.gMax.description).toMatch(/µS/);
    expect(p.drift.properties.t0.description).toMatch(/, s;/);
    expect(p.readNoise.properties.tRead.description).toMatch(/, s;/);
    expect(p.cost.properties.adcEnergy.description).toMatch(/pJ/);
    expect(p.cost.properties.mvmLatency.description).toMatch(/ns/);
  });
});

// Each case breaks one thing in a copy of a built-in; the message must name the file, the
// exact JSON path and what was expected.
const CASES: [string, (p: Json) => void, string, RegExp][] = [
  ['gMax of the wrong type', (p) => (p.conductance.gMax = '25'), '/conductance/gMax', /^expected number, got string '25'$/],
  ['a missing section', (p) => delete p.tile, '/', /^missing required property 'tile'$/],
  ['a missing nullable section', (p) => delete p.relaxation, '/', /^missing required property 'relaxation'$/],
  ['a misspelled property', (p) => (p.conductance.gmax = 25), '/conductance/gmax', /^unknown property 'gmax' \(did you mean 'gMax'\?\)$/],
  [
    'a transposed property name',
    (p) => (p.drift.nuMaen = 0.05),
    '/drift/nuMaen',
    /^unknown property 'nuMaen' \(did you mean 'nuMean'\?\)$/,
  ],
  [
    'a property in the wrong section',
    (p) => (p.readNoise.t0 = 20),
    '/readNoise/t0',
    /^unknown property 't0' \(it belongs under \/drift\)$/,
  ],
  ['a negative gMax', (p) => (p.conductance.gMax = -1), '/conductance/gMax', /^expected number >= 0\.001, got -1$/],
  ['a subnormal gMax', (p) => (p.conductance.gMax = 1e-320), '/conductance/gMax', /^expected number >= 0\.001, got 1e-320$/],
  ['an astronomic gMax', (p) => (p.conductance.gMax = 1e308), '/conductance/gMax', /^expected number <= 1000000, got 1e\+308$/],
  ['a programming scale of 1e308', (p) => (p.scales.programming = 1e308), '/scales/programming', /^expected number <= 1000, got 1e\+308$/],
  ['a subnormal ADC bound', (p) => (p.periphery.adc.bound = 1e-320), '/periphery/adc/bound', /^expected number >= 0\.000001, got 1e-320$/],
  [
    'a read noise that is NaN above gMax',
    (p) => (p.readNoise.q = '0.01 * sqrt(1 - rProg)'),
    '/readNoise/q',
    /^evaluates to NaN at rProg = 1\.00\d* .*checked up to 10·gMax/,
  ],
  [
    'a read noise that overflows far above gMax',
    (p) => (p.readNoise.q = '0.01 * exp(200 * rProg)'),
    '/readNoise/q',
    /^evaluates to Infinity at rProg = [3-9]\.\d+/,
  ],
  [
    'a drift exponent infinite near g = 0',
    (p) => ((p.conductance.gMin = 0), (p.drift.nuMean = '0.05 / r')),
    '/drift/nuMean',
    /^evaluates to Infinity at r = 0 /,
  ],
  ['gMin above gMax', (p) => (p.conductance.gMin = 30), '/conductance/gMax', /^expected gMax > gMin \(30\), got 25$/],
  ['gMin equal to gMax', (p) => (p.conductance.gMin = 25), '/conductance/gMax', /^expected gMax > gMin \(25\), got 25$/],
  ['a single level', (p) => (p.conductance.levels = 1), '/conductance/levels', /^expected integer >= 2, got 1$/],
  ['zero DAC bits', (p) => (p.periphery.dac.bits = 0), '/periphery/dac/bits', /^expected integer >= 1, got 0$/],
  ['25 ADC bits', (p) => (p.periphery.adc.bits = 25), '/periphery/adc/bits', /^expected integer <= 24, got 25$/],
  [
    'an unknown enum value',
    (p) => (p.mapping.scheme = 'diff'),
    '/mapping/scheme',
    /^expected one of 'differential', 'single', got 'diff'$/,
  ],
  [
    'expression syntax error',
    (p) => (p.programming.std = '0.2 + * r'),
    '/programming/std',
    /^at char \d+: syntax error.* in '0\.2 \+ \* r'$/,
  ],
  ['a forbidden expression construct', (p) => (p.drift.nuMean = 'evaluate("1")'), '/drift/nuMean', /^at char 0: .*'evaluate'.*not allowed/],
  ['an assignment in an expression', (p) => (p.drift.nuStd = 'r = 1'), '/drift/nuStd', /^at char \d+: .*not allowed/],
  [
    'a target variable in readNoise.q',
    (p) => (p.readNoise.q = '0.01 * r'),
    '/readNoise/q',
    /^at char 7: unknown name 'r' \(allowed: gProg, rProg, gMax, gMin\) in '0\.01 \* r'$/,
  ],
  [
    'an unknown variable',
    (p) => (p.drift.nuMean = '0.05 + foo'),
    '/drift/nuMean',
    /^at char 7: unknown name 'foo' \(allowed: g, r, gMax, gMin\)/,
  ],
  ['an empty expression', (p) => (p.programming.std = ''), '/programming/std', /^expected a non-empty string$/],
  ['an expression of the wrong type', (p) => (p.programming.std = true), '/programming/std', /^expected string or number, got true$/],
  [
    'an expression giving NaN',
    (p) => (p.drift.nuStd = '(r >= 0.5) * log(r)'),
    '/drift/nuStd',
    /^evaluates to NaN at r = 0 \(g = 0 µS\); guard logs/,
  ],
  [
    'a negative std',
    (p) => (p.programming.std = '0.1 - r'),
    '/programming/std',
    /^evaluates to -0\.0005 at r = 0\.1005 .*a std must be >= 0$/,
  ],
  [
    'non-increasing relaxation times',
    (p) =>
      (p.relaxation = {
        points: [
          { t: 10, std: 1 },
          { t: 5, std: 1 },
        ],
        beyondLast: 'hold',
      }),
    '/relaxation/points/1/t',
    /^expected times strictly increasing, got 5 after 10$/,
  ],
  [
    'equal relaxation times',
    (p) =>
      (p.relaxation = {
        points: [
          { t: 1, std: 1 },
          { t: 1, std: 2 },
        ],
        beyondLast: 'hold',
      }),
    '/relaxation/points/1/t',
    /got 1 after 1$/,
  ],
  [
    'no relaxation points',
    (p) => (p.relaxation = { points: [], beyondLast: 'hold' }),
    '/relaxation/points',
    /^expected at least 1 item\(s\), got 0$/,
  ],
  [
    'a relaxation time of 0',
    (p) => (p.relaxation = { points: [{ t: 0, std: 1 }], beyondLast: 'hold' }),
    '/relaxation/points/0/t',
    /^expected number > 0, got 0$/,
  ],
  [
    'fault rates above 1 together',
    (p) => (p.faults = { stuckAtGMin: 0.6, stuckAtGMax: 0.5 }),
    '/faults',
    /^expected stuckAtGMin \+ stuckAtGMax <= 1, got 1\.1$/,
  ],
  ['a fault rate above 1', (p) => (p.faults.stuckAtGMax = 2), '/faults/stuckAtGMax', /^expected number <= 1, got 2$/],
  ['empty sources', (p) => (p.sources = []), '/sources', /^expected at least 1 item\(s\), got 0$/],
  ['an empty source string', (p) => (p.cost.sources = ['ok', '']), '/cost/sources/1', /^expected a non-empty string$/],
  ['zero tile rows', (p) => (p.tile.rows = 0), '/tile/rows', /^expected integer >= 1, got 0$/],
  ['fractional tile cols', (p) => (p.tile.cols = 12.5), '/tile/cols', /^expected integer, got 12\.5$/],
  ['a bad name', (p) => (p.name = 'My Device'), '/name', /^expected lowercase letters, digits.*got 'My Device'$/],
  ['a drift section of the wrong type', (p) => (p.drift = 3), '/drift', /^expected object or null, got 3$/],
  ['a field missing inside a nullable section', (p) => delete p.drift.t0, '/drift', /^missing required property 't0'$/],
  ['a zero t0', (p) => (p.drift.t0 = 0), '/drift/t0', /^expected number >= 0.000001, got 0$/],
  ['a negative tRead', (p) => (p.readNoise.tRead = -2.5e-7), '/readNoise/tRead', /^expected number >= 1e-15, got -2\.5e-7$/],
  ['a negative noise scale', (p) => (p.scales.read = -1), '/scales/read', /^expected number >= 0, got -1$/],
  ['a zero ADC bound', (p) => (p.periphery.adc.bound = 0), '/periphery/adc/bound', /^expected number >= 0\.000001, got 0$/],
  ['a negative cost', (p) => (p.cost.adcEnergy = -2), '/cost/adcEnergy', /^expected number >= 0, got -2$/],
  ['a string boolean', (p) => (p.driftCompensation.enabled = 'yes'), '/driftCompensation/enabled', /^expected boolean, got string 'yes'$/],
  [
    'a SAR ADC without bits',
    (p) => ((p.periphery.adc.model = 'sar'), (p.periphery.adc.bits = null)),
    '/periphery/adc/bits',
    /^expected an integer number of bits for a sar ADC, got null$/,
  ],
  [
    'an unknown ADC model',
    (p) => (p.periphery.adc.model = 'flash'),
    '/periphery/adc/model',
    /^expected one of 'ideal', 'ramp', 'sar', got 'flash'$/,
  ],
  [
    'input bit slicing without DAC bits',
    (p) => ((p.periphery.inputBitsPerPass = 2), (p.periphery.dac.bits = null)),
    '/periphery/dac/bits',
    /^expected an integer number of bits for input bit slicing/,
  ],
  ['a negative input noise', (p) => (p.periphery.inputNoise = -0.1), '/periphery/inputNoise', /^expected number >= 0, got -0\.1$/],
  [
    'an IR-drop segment below zero',
    (p) => (p.tile.irDrop = { rowSegment: -0.1, colSegment: 0.2 }),
    '/tile/irDrop/rowSegment',
    /^expected number >= 0, got -0\.1$/,
  ],
  [
    'an IR-drop section without its column segment',
    (p) => (p.tile.irDrop = { rowSegment: 0.1 }),
    '/tile/irDrop',
    /^missing required property 'colSegment'$/,
  ],
  [
    'an ADC calibration quantile of 0',
    (p) => (p.periphery.adc.calibration = { quantile: 0 }),
    '/periphery/adc/calibration/quantile',
    /^expected number > 0, got 0$/,
  ],
  [
    'an unknown ADC calibration granularity',
    (p) => (p.periphery.adc.calibration = { quantile: 0.99, granularity: 'row' }),
    '/periphery/adc/calibration/granularity',
    /^expected one of 'array', 'column', got 'row'$/,
  ],
  [
    'a non-linearity without its std',
    (p) => (p.periphery.outputNonlinearity = { strength: 0.5 }),
    '/periphery/outputNonlinearity',
    /^missing required property 'std'$/,
  ],
  [
    'a non-linearity strength of the wrong type',
    (p) => (p.periphery.outputNonlinearity = { strength: '0.5', std: 0 }),
    '/periphery/outputNonlinearity/strength',
    /^expected number, got string '0\.5'$/,
  ],
  [
    'an unknown compensation granularity',
    (p) => (p.driftCompensation.granularity = 'row'),
    '/driftCompensation/granularity',
    /^expected one of 'layer', 'column', got 'row'$/,
  ],
  [
    'zero devices per conductance',
    (p) => (p.mapping.devicesPerConductance = 0),
    '/mapping/devicesPerConductance',
    /^expected integer >= 1, got 0$/,
  ],
];

describe('malformed profiles are rejected with precise messages', () => {
  it('has at least 15 distinct cases', () => {
    expect(new Set(CASES.map((c) => c[0])).size).toBeGreaterThanOrEqual(15);
  });

  for (const [what, mutate, path, message] of CASES) {
    it(what, () => {
      const e = rejects(mutate);
      expect(e.file).toBe('my-device.json');
      expect(e.problems.some((p) => (p.path || '/') === path)).toBe(true);
      expect(lineFor(e, path).slice(`my-device.json: ${path}: `.length)).toMatch(message);
    });
  }

  it('reports three independent problems at once, in file order', () => {
    const e = rejects((p) => {
      p.conductance.gMax = -1;
      p.periphery.adc.bits = 'nine';
      p.tile.colz = 3;
    });
    expect(e.problems.map((x) => x.path)).toEqual(['/conductance/gMax', '/periphery/adc/bits', '/tile/colz']);
    expect(e.message.split('\n')).toEqual([
      'my-device.json: /conductance/gMax: expected number >= 0.001, got -1',
      "my-device.json: /periphery/adc/bits: expected integer or null, got string 'nine'",
      "my-device.json: /tile/colz: unknown property 'colz' (did you mean 'cols'?)",
    ]);
  });

  it('reports semantic and expression problems together with schema errors', () => {
    const e = rejects((p) => {
      p.name = 'Bad Name';
      p.conductance.gMin = 40;
      p.drift.nuStd = 'foo + 1';
      p.readNoise.q = 'gProg.x';
      p.tile.rows = 0;
    });
    expect(e.problems.map((x) => x.path)).toEqual(['/name', '/conductance/gMax', '/drift/nuStd', '/readNoise/q', '/tile/rows']);
  });

  it('checks the relaxation expressions of the RRAM profile', () => {
    const e = rejects((p) => (p.relaxation.points[2].std = 'r ^ '), 'rram-wan-2022');
    expect(lineFor(e, '/relaxation/points/2/std')).toMatch(/syntax error/);
  });

  it('evaluates expressions over [gMin, gMax] only with a valid range', () => {
    // With gMax broken, the range check is skipped rather than reporting noise.
    const e = rejects((p) => {
      p.conductance.gMax = -1;
      p.programming.std = '0.1 - r';
    });
    expect(e.problems.map((x) => x.path)).toEqual(['/conductance/gMax']);
  });
});

describe('profile text', () => {
  it('invalid JSON is reported with line and column', () => {
    expect(() => parseProfileText('{\n  "name": "x",\n  "tile": {rows: 2}\n}', 'broken.json')).toThrow(
      /^broken.json: \/: invalid JSON at line 3, column 12: expected a property name in double quotes, got 'r'$/,
    );
  });

  it('a trailing comma points at the comma', () => {
    const text = read('ideal').replace('"enabled": false\n', '"enabled": false,\n');
    const line = text.split('\n').findIndex((l) => l.includes('"enabled": false,')) + 1;
    expect(() => parseProfileText(text, 'comma.json')).toThrow(
      new RegExp(`^comma.json: /: invalid JSON at line ${line}, column \\d+: trailing comma before '}'$`),
    );
  });

  it('a truncated file and an empty file are named as such', () => {
    expect(() => parseProfileText(read('ideal').slice(0, read('ideal').indexOf('"mapping"')), 'cut.json')).toThrow(
      /invalid JSON at line \d+, column \d+: expected a property name in double quotes, got end of input$/,
    );
    expect(() => parseProfileText('  \n', 'empty.json')).toThrow(/^empty.json: \/: invalid JSON at line 2, column 1: the file is empty$/);
  });

  it('a duplicated property is reported (JSON.parse would keep the last silently)', () => {
    const text = read('ideal').replace('"gMax": 25', '"gMax": 25,\n    "gMax": 30');
    const e = (() => {
      try {
        parseProfileText(text, 'dup.json');
      } catch (err) {
        return err as ProfileError;
      }
      throw new Error('accepted');
    })();
    expect(e).toBeInstanceOf(ProfileError);
    expect(lineFor(e, '/conductance/gMax', 'dup.json')).toMatch(
      /duplicate property 'gMax' \(line \d+, column 5\); only the last one would count/,
    );
  });

  it('a byte-order mark is accepted', () => {
    expect(parseProfileText(`\uFEFF${read('ideal')}`, 'bom.json').name).toBe('ideal');
  });
});
