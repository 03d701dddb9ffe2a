/**
 * The one parser for values users type — integers, numbers, lists, durations — used by every
 * command and by spec validation. Each refuses with `WHERE: 'TEXT' is not …` (WHERE: the
 * option or JSON path): empty entries, non-integers, values beyond the type's range,
 * non-positive times, non-finite numbers. Nothing is guessed (an empty string is not 0).
 */

/** A value a user gave that cannot be used; the message names where it came from. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface NumberBounds {
  min?: number;
  max?: number;
  /** min itself is not allowed. */
  exclusiveMin?: boolean;
}

function range(b: NumberBounds, integer: boolean): string {
  const lo = b.min ?? (integer ? Number.MIN_SAFE_INTEGER : -Infinity);
  const hi = b.max ?? (integer ? Number.MAX_SAFE_INTEGER : Infinity);
  if (lo === -Infinity && hi === Infinity) return '';
  if (hi === Infinity || hi === Number.MAX_SAFE_INTEGER) return b.exclusiveMin ? ` > ${lo}` : ` >= ${lo}`;
  return ` in ${b.exclusiveMin ? '(' : '['}${lo}, ${hi}]`;
}

function numberOf(text: string | number): number {
  if (typeof text === 'number') return text;
  // Number('') and Number('  ') are 0, Number('0x10') is 16: only decimal notation counts.
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text) ? Number(text) : NaN;
}

function inBounds(v: number, b: NumberBounds): boolean {
  if (b.min !== undefined && (b.exclusiveMin ? v <= b.min : v < b.min)) return false;
  return b.max === undefined || v <= b.max;
}

/** A finite decimal number within bounds. */
export function parseNumber(text: string | number, where: string, b: NumberBounds = {}): number {
  const v = numberOf(text);
  if (!Number.isFinite(v) || !inBounds(v, b)) throw new InputError(`${where}: '${text}' is not a finite number${range(b, false)}`);
  return v;
}

/** An integer within bounds (at most Number.MAX_SAFE_INTEGER in magnitude). */
export function parseInteger(text: string | number, where: string, b: NumberBounds = {}): number {
  const v = numberOf(text);
  if (!Number.isSafeInteger(v) || !inBounds(v, b)) throw new InputError(`${where}: '${text}' is not an integer${range(b, true)}`);
  return v;
}

/** A positive integer, at most `max`. */
export function parsePositiveInt(text: string | number, where: string, max = Number.MAX_SAFE_INTEGER): number {
  return parseInteger(text, where, { min: 1, max });
}

/** A tile size `ROWSxCOLS` (e.g. 512x256) or `N` for N×N, each 1..65536. */
export function parseTileSize(text: string, where: string): { rows: number; cols: number } {
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/i.exec(text);
  if (!m) throw new Error(`${where}: expected a tile size as ROWSxCOLS (e.g. 512x512) or N, got '${text}'`);
  const rows = parseInteger(m[1]!, `${where} rows`, { min: 1, max: 65536 });
  const cols = parseInteger(m[2] ?? m[1]!, `${where} cols`, { min: 1, max: 65536 });
  return { rows, cols };
}

/** An integer >= 0, at most `max`. */
export function parseNonNegativeInt(text: string | number, where: string, max = Number.MAX_SAFE_INTEGER): number {
  return parseInteger(text, where, { min: 0, max });
}

/** A finite number >= 0. */
export function parseNonNegative(text: string | number, where: string, max?: number): number {
  return parseNumber(text, where, { min: 0, ...(max === undefined ? {} : { max }) });
}

/** A comma-separated list; an empty entry (`1,,2`, a trailing comma) is refused, naming its position. */
export function parseList<T>(text: string, where: string, item: (s: string, where: string) => T, o: { maxItems?: number } = {}): T[] {
  if (!text.trim()) throw new InputError(`${where}: empty list`);
  const parts = text.split(',');
  if (o.maxItems !== undefined && parts.length > o.maxItems)
    throw new InputError(`${where}: ${parts.length} entries, at most ${o.maxItems} allowed`);
  return parts.map((p, i) => {
    if (!p.trim()) throw new InputError(`${where}: entry ${i + 1} of '${text}' is empty`);
    return item(p.trim(), where);
  });
}

/** Comma-separated numbers each within bounds. */
export function parseNumberList(text: string, where: string, min = -Infinity, max = Infinity): number[] {
  return parseList(text, where, (s, w) => parseNumber(s, w, { min, max }));
}

// ---- limits of a run ----------------------------------------------------------------

/** Trials of one deployment (each programs a whole model). */
export const MAX_TRIALS = 100_000;
/** Read-out times of one deployment. */
export const MAX_TIMES = 1000;
/** Multiplier on a profile's programming and read noise. */
export const MAX_NOISE_SCALE = 1000;
/** Monte Carlo samples of `device show` / `device plot` (per g and t). */
export const MAX_SAMPLES = 10_000_000;

// ---- durations ---------------------------------------------------------------------

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

/** Longest time aimc accepts after programming: 1000 years (the device models' data end far sooner). */
export const MAX_DURATION = 1000 * 31536000;

/**
 * A time after programming in seconds: a number, or a number with a unit s|m|min|h|d|w|mo|y
 * (y = 365 d). Positive and at most MAX_DURATION unless `allowZero`.
 */
export function parseDuration(text: string | number, where: string, o: { allowZero?: boolean } = {}): number {
  let seconds: number;
  if (typeof text === 'number') seconds = text;
  else {
    const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
    const unit = m?.[2]?.toLowerCase() ?? '';
    const mult = unit === '' ? 1 : UNIT_SECONDS[unit];
    if (!m || mult === undefined) {
      throw new InputError(
        `${where}: '${text}' is not a duration (expected seconds or a number with a unit: ${Object.keys(UNIT_SECONDS).join(', ')})`,
      );
    }
    seconds = Number(m[1]) * mult;
  }
  const lo = o.allowZero ? seconds >= 0 : seconds > 0;
  if (!Number.isFinite(seconds) || !lo || seconds > MAX_DURATION) {
    throw new InputError(
      `${where}: '${text}' is not a duration in ${o.allowZero ? '[0' : '(0'}, 1000y] (times count from the end of programming)`,
    );
  }
  return seconds;
}

/** Comma-separated durations, e.g. "1,1h,1d". */
export function parseDurations(text: string, where: string, o: { maxItems?: number } = {}): number[] {
  return parseList(text, where, (s, w) => parseDuration(s, w), o);
}

/** Human-readable duration for tables (1s, 1h, 1d, 30d, 1y). */
export function formatDuration(s: number): string {
  const units: [string, number][] = [
    ['y', 31536000],
    ['d', 86400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ];
  for (const [u, v] of units) if (s >= v && Number.isInteger(s / v)) return `${s / v}${u}`;
  return `${s}s`;
}
