import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  formatDuration,
  InputError,
  MAX_DURATION,
  parseDuration,
  parseDurations,
  parseInteger,
  parseList,
  parseNonNegative,
  parseNumber,
  parseNumberList,
  parsePositiveInt,
} from '../../src/input/values.js';

describe('value parsers', () => {
  it('parses durations with and without units', () => {
    expect(parseDurations('1,3600,1h,1d,30d,1y,10y,2.5m', '--t')).toEqual([1, 3600, 3600, 86400, 2592000, 31536000, 315360000, 150]);
    expect(parseDuration(86400, '/times/0')).toBe(86400);
  });

  it('formats durations for tables', () => {
    expect([1, 3600, 86400, 2592000, 31536000, 90].map(formatDuration)).toEqual(['1s', '1h', '1d', '30d', '1y', '90s']);
  });

  for (const [text, what] of [
    ['1 fortnight', /is not a duration \(expected seconds/],
    ['-100', /is not a duration/],
    ['0', /'0' is not a duration in \(0, 1000y\]/],
    ['0s', /not a duration in \(0/],
    ['1e400y', /'1e400y' is not a duration in \(0, 1000y\]/],
    ['1001y', /not a duration in \(0, 1000y\]/],
    ['', /is not a duration/],
    ['NaN', /is not a duration/],
    ['Infinity', /is not a duration/],
  ] as const) {
    it(`duration '${text}' is refused`, () => {
      expect(() => parseDuration(text, '--t')).toThrow(what);
    });
  }

  for (const v of [-100, 0, NaN, Infinity, -Infinity, 1e12]) {
    it(`duration given as the number ${v} (a spec's times) is refused`, () => {
      expect(() => parseDuration(v, '/times/2')).toThrow(/\/times\/2: .* is not a duration in \(0, 1000y\]/);
    });
  }

  for (const [text, where] of [
    ['1,,2', /entry 2 of '1,,2' is empty/],
    ['1,2,', /entry 3 of '1,2,' is empty/],
    [',1', /entry 1 of ',1' is empty/],
    ['', /empty list/],
    [' , ', /entry 1 .* is empty/],
  ] as const) {
    it(`list '${text}' with an empty entry is refused`, () => {
      expect(() => parseList(text, '--ids', (s, w) => parseInteger(s, w, { min: 0 }))).toThrow(where);
    });
  }

  for (const [text, opts, message] of [
    ['4294967301', { min: 0, max: 4095 }, /'4294967301' is not an integer in \[0, 4095\]/],
    ['1.5', { min: 0 }, /'1.5' is not an integer >= 0/],
    ['-1', { min: 0 }, /'-1' is not an integer >= 0/],
    ['0x10', {}, /'0x10' is not an integer/],
    ['', {}, /'' is not an integer/],
    ['9007199254740993', {}, /is not an integer/],
    ['1e3', { min: 0, max: 10 }, /'1e3' is not an integer in \[0, 10\]/],
  ] as const) {
    it(`integer '${text}' is refused`, () => {
      expect(() => parseInteger(text, '--ids', opts)).toThrow(message);
    });
  }

  for (const text of ['', ' ', 'abc', 'NaN', 'Infinity', '1e400', '-1', '0x1']) {
    it(`non-negative number '${text}' is refused (never read as 0)`, () => {
      expect(() => parseNonNegative(text, '--noise-scale')).toThrow(/--noise-scale: .* is not a finite number/);
    });
  }

  it('bounds name the range', () => {
    expect(() => parseNumberList('0.1,2', '--g', 0, 1)).toThrow(/--g: '2' is not a finite number in \[0, 1\]/);
    expect(() => parsePositiveInt('3e8', '--samples', 10_000_000)).toThrow(/--samples: '3e8' is not an integer in \[1, 10000000\]/);
    expect(parsePositiveInt('1e3', '--samples', 10_000_000)).toBe(1000);
  });
});

describe('value parsers: properties (fast-check)', () => {
  const junk = fc.oneof(fc.string(), fc.stringMatching(/^[0-9eE+\-., a-z]{0,12}$/), fc.constantFrom('', ',', ',,', '1,,2', 'NaN', 'Infinity', '-0', '1e999', '0x1f', '1_000'));

  it('parseDuration: any string yields a finite time in (0, 1000 y] or an InputError naming the option', () => {
    fc.assert(
      fc.property(junk, (text) => {
        try {
          const v = parseDuration(text, '--t');
          return Number.isFinite(v) && v > 0 && v <= MAX_DURATION;
        } catch (e) {
          return e instanceof InputError && e.message.startsWith('--t: ');
        }
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('parseDuration round-trips every positive number of seconds with a unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999 }), fc.constantFrom(['s', 1], ['h', 3600], ['d', 86400], ['y', 31536000]), (n, [u, k]) => parseDuration(`${n}${u}`, 'x') === n * (k as number)),
      { numRuns: 500, seed: 12 },
    );
  });

  it('parseInteger: any string yields a safe integer within the bounds or an InputError', () => {
    fc.assert(
      fc.property(junk, fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 5000 }), (text, lo, span) => {
        try {
          const v = parseInteger(text, '--n', { min: lo, max: lo + span });
          return Number.isSafeInteger(v) && v >= lo && v <= lo + span;
        } catch (e) {
          return e instanceof InputError;
        }
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('parseNumber agrees with the decimal value of well-formed input', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }), (x) => Object.is(parseNumber(String(x), 'x'), x) || (x === 0 && parseNumber(String(x), 'x') === 0)), { numRuns: 1000, seed: 14 });
  });

  it('parseList: the entries of a list without empty parts, in order; any empty part refused', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.boolean(), (xs, at, hole) => {
        const parts = xs.map(String);
        if (hole) parts.splice(at % (parts.length + 1), 0, ' ');
        const text = parts.join(',');
        try {
          const got = parseList(text, 'l', (s, w) => parseInteger(s, w));
          return !hole && JSON.stringify(got) === JSON.stringify(xs);
        } catch (e) {
          return hole && e instanceof InputError && /is empty/.test(e.message);
        }
      }),
      { numRuns: 1000, seed: 15 },
    );
  });
});
