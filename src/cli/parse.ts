/** Parsers for CLI values; each throws an Error naming the flag and what was expected. */
import { parseDuration } from '../device/duration.js';

export { formatDuration, parseDuration } from '../device/duration.js';

/** Comma-separated durations, e.g. "1,1h,1d". */
export function parseDurations(text: string, flag: string): number[] {
  return text.split(',').map((s) => parseDuration(s, flag));
}

/** Comma-separated numbers each within [min, max]. */
export function parseNumberList(text: string, flag: string, min = -Infinity, max = Infinity): number[] {
  return text.split(',').map((s) => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
      throw new Error(`${flag}: '${s}' is not a number in [${min}, ${max}]`);
    }
    return v;
  });
}

/** A finite number >= 0. */
export function parseNonNegative(text: string, flag: string): number {
  const x = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(x) || x < 0) throw new Error(`${flag}: '${text}' is not a non-negative number`);
  return x;
}

/** A positive integer. */
export function parsePositiveInt(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag}: '${text}' is not a positive integer`);
  return v;
}

/** An integer >= 0. */
export function parseNonNegativeInt(text: string, flag: string): number {
  const v = text.trim() === '' ? NaN : Number(text);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${flag}: '${text}' is not a non-negative integer`);
  return v;
}
