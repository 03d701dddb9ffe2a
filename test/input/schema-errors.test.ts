/** The one ajv-error describer: every problem names its JSON path, what was expected and the value found. */
import { describe, it, expect } from 'vitest';
import { Ajv } from 'ajv';
import { AJV_DESCRIBE, bySchemaOrder, describeSchemaErrors, problemLine } from '../../src/input/schema-errors.js';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  definitions: { time: { type: ['string', 'number'] } },
  properties: {
    name: { type: 'string', pattern: '^[a-z]+$' },
    count: { type: 'integer', minimum: 1, maximum: 10 },
    rate: { type: 'number', exclusiveMinimum: 0 },
    mode: { enum: ['fast', 'slow', 3] },
    tags: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 2, uniqueItems: true },
    flag: { const: true },
    time: { $ref: '#/definitions/time' },
    nested: { type: 'object', additionalProperties: false, properties: { depth: { type: 'integer' }, width: { type: 'integer' } } },
    either: { oneOf: [{ const: false }, { type: 'object', additionalProperties: false, properties: { device: { type: 'string' } } }] },
    code: { type: 'string', minLength: 3, maxLength: 4 },
    step: { type: 'number', multipleOf: 0.5 },
  },
} as const;

function problems(doc: unknown, o: { verbose?: boolean; patterns?: Record<string, string> } = {}): string[] {
  const v = new Ajv({ ...(o.verbose === false ? { allErrors: true } : AJV_DESCRIBE), strict: false }).compile(SCHEMA);
  expect(v(doc)).toBe(false);
  return describeSchemaErrors(v.errors, { schema: SCHEMA, doc, ...(o.patterns ? { patterns: o.patterns } : {}) }).map(problemLine);
}

const base = { name: 'ok' };

describe('describeSchemaErrors', () => {
  for (const [what, over, line] of [
    ['a missing property', { name: undefined }, "/: missing required property 'name'"],
    ['a misspelled property', { cuont: 1 }, "/cuont: unknown property 'cuont' (did you mean 'count'?)"],
    ['a property in the wrong section', { depth: 1 }, "/depth: unknown property 'depth' (it belongs under /nested)"],
    ['an unknown property with nothing close', { zzzzzz: 1 }, "/zzzzzz: unknown property 'zzzzzz' (known: name, count, rate, mode, tags, flag, time, nested, either, code, step)"],
    ['a type mismatch', { count: '3' }, "/count: expected integer, got string '3'"],
    ['a union type mismatch', { time: true }, '/time: expected string or number, got true'],
    ['a minimum', { count: 0 }, '/count: expected integer >= 1, got 0'],
    ['a maximum', { count: 11 }, '/count: expected integer <= 10, got 11'],
    ['an exclusive minimum', { rate: 0 }, '/rate: expected number > 0, got 0'],
    ['an enum', { mode: 'quick' }, "/mode: expected one of 'fast', 'slow', 3, got 'quick'"],
    ['a const', { flag: false }, '/flag: expected true, got false'],
    ['too few items', { tags: [] }, '/tags: expected at least 1 item(s), got 0'],
    ['too many items', { tags: ['a', 'b', 'c'] }, '/tags: expected at most 2 item(s), got 3'],
    ['repeated items', { tags: ['a', 'a'] }, '/tags: expected unique items, got items 0 and 1 equal'],
    ['an empty string', { tags: [''] }, '/tags/0: expected a non-empty string'],
    ['a short string', { code: 'ab' }, "/code: expected a string of at least 3 character(s), got 'ab'"],
    ['a long string', { code: 'abcde' }, '/code: expected a string of at most 4 character(s), got 5'],
    ['a pattern', { name: 'A1' }, "/name: expected a string matching ^[a-z]+$, got 'A1'"],
    ['a multiple', { step: 0.3 }, '/step: expected a multiple of 0.5, got 0.3'],
  ] as const) {
    it(what, () => {
      expect(problems({ ...base, ...over })).toContain(line);
    });
  }

  it('patterns in words', () => {
    expect(problems({ name: 'A1' }, { patterns: { '^[a-z]+$': 'lowercase letters' } })).toEqual(["/name: expected lowercase letters (^[a-z]+$), got 'A1'"]);
  });

  it('a oneOf summary gives way to its branches, which say what was expected', () => {
    expect(problems({ ...base, either: { devic: 'x' } })).toEqual([
      '/either: expected false, got an object',
      "/either/devic: unknown property 'devic' (did you mean 'device'?)",
    ]);
    expect(problems({ ...base, either: 3 })).toEqual(['/either: expected false, got 3', '/either: expected object, got 3']);
  });

  it('one line per distinct problem, in ajv order; several problems at once', () => {
    expect(problems({ count: 0, mode: 'x', extra: 1 })).toEqual([
      "/: missing required property 'name'",
      "/extra: unknown property 'extra' (known: name, count, rate, mode, tags, flag, time, nested, either, code, step)",
      '/count: expected integer >= 1, got 0',
      "/mode: expected one of 'fast', 'slow', 3, got 'x'",
    ]);
  });

  it('without ajv verbose, found values and schemas are looked up by path', () => {
    expect(problems({ ...base, count: 0, nested: { depht: 1 } }, { verbose: false })).toEqual([
      '/count: expected integer >= 1, got 0',
      "/nested/depht: unknown property 'depht' (did you mean 'depth'?)",
    ]);
  });

  it('never throws on odd schemas', () => {
    const errs = [{ instancePath: '/x', schemaPath: 'other:id#/definitions/x/minimum', keyword: 'minimum', params: { comparison: '>=', limit: 1 }, message: 'must be >= 1' }];
    expect(describeSchemaErrors(errs, {})).toEqual([{ path: '/x', message: 'expected number >= 1, got undefined' }]);
    expect(describeSchemaErrors([{ instancePath: '', schemaPath: '#/if', keyword: 'if', params: {}, message: 'must match "then" schema' }])).toEqual([{ path: '', message: 'must match "then" schema' }]);
    expect(describeSchemaErrors(null)).toEqual([]);
  });
});

describe('bySchemaOrder', () => {
  it('sorts problems by the schema\'s property order, items by index, unknown names last', () => {
    const paths = ['/zzz', '/tags/1', '/nested/width', '/count', '/tags/0', '', '/nested/depth'];
    const sorted = paths.map((path) => ({ path, message: '' })).sort(bySchemaOrder(SCHEMA)).map((p) => p.path);
    expect(sorted).toEqual(['', '/count', '/tags/0', '/tags/1', '/nested/depth', '/nested/width', '/zzz']);
  });
});
