import { describe, it, expect } from 'vitest';
import { parseDuration, parseDurations, parseNumberList, formatDuration } from '../../src/cli/parse.js';

describe('CLI value parsers', () => {
  it('parses durations with and without units', () => {
    expect(parseDurations('1,3600,1h,1d,30d,1y,10y,2.5m', '--t')).toEqual([1, 3600, 3600, 86400, 2592000, 31536000, 315360000, 150]);
  });
  it('rejects junk naming the flag', () => {
    expect(() => parseDuration('1 fortnight', '--t')).toThrow(/--t: '1 fortnight' is not a duration/);
    expect(() => parseNumberList('0.1,2', '--g', 0, 1)).toThrow(/--g: '2' is not a number in \[0, 1\]/);
  });
  it('formats durations for tables', () => {
    expect([1, 3600, 86400, 2592000, 31536000, 90].map(formatDuration)).toEqual(['1s', '1h', '1d', '30d', '1y', '90s']);
  });
});
