/** Times after programming as people write them (1s, 1h, 1d, 1y) and back. */

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

/** Human-readable duration for tables (1s, 1h, 1d, 30d, 1y). */
export function formatDuration(s: number): string {
  const units: [string, number][] = [['y', 31536000], ['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  for (const [u, v] of units) if (s >= v && Number.isInteger(s / v)) return `${s / v}${u}`;
  return `${s}s`;
}
