/** Parsers for CLI values; each throws an Error naming the flag and what was expected. */

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  mo: 2592000,
  y: 31536000,
};

/** A duration: seconds as a number, or a number with a unit s|m|min|h|d|w|mo|y (y = 365 d). */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const mult = unit === '' ? 1 : UNIT_SECONDS[unit];
  if (!m || mult === undefined) {
    throw new Error(`${flag}: '${text}' is not a duration (expected seconds or a number with a unit: ${Object.keys(UNIT_SECONDS).join(', ')})`);
  }
  return Number(m[1]) * mult;
}

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
  const x = Number(text);
  if (!Number.isFinite(x) || x < 0) throw new Error(`${flag}: '${text}' is not a non-negative number`);
  return x;
}

/** A positive integer. */
export function parsePositiveInt(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag}: '${text}' is not a positive integer`);
  return v;
}

/** Human-readable duration for tables (1s, 1h, 1d, 30d, 1y). */
export function formatDuration(s: number): string {
  const units: [string, number][] = [['y', 31536000], ['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  for (const [u, v] of units) if (s >= v && Number.isInteger(s / v)) return `${s / v}${u}`;
  return `${s}s`;
}
