/**
 * Device profiles: finding, parsing and validating them. Every problem in a file is
 * reported at once, each as `FILE: /json/pointer: what was expected`, before any work starts:
 * a user fixing a hand-written profile should not have to rerun once per typo.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, parse as parsePath } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { JsonError, parseStrictJson, readJsonFile, readTextFile, type JsonProblem } from '../input/json.js';
import { packageRoot } from '../input/package-root.js';
import { AJV_DESCRIBE, bySchemaOrder, describeSchemaErrors } from '../input/schema-errors.js';
import { compileExpr, ExprError, type CompiledExpr } from './expr.js';
import { temperatureFactors } from './physics.js';
import { EXPR_VARIABLES, type DeviceProfile } from './types.js';

/** One problem: JSON pointer of the offending value, e.g. /drift/nuMean ('' for the whole document), and what was expected. */
export type ProfileProblem = JsonProblem;

/** A profile that failed to parse or validate; `message` has one `file: path: message` line per problem. */
export class ProfileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ProfileProblem[],
  ) {
    super(problems.map((p) => `${file}: ${p.path || '/'}: ${p.message}`).join('\n'));
    this.name = 'ProfileError';
  }
}

/** Absolute path of the built-in profiles folder (devices/ of the aimc package). */
export const DEVICES_DIR = join(packageRoot(), 'devices');
const SCHEMA_FILE = join(DEVICES_DIR, 'device.schema.json');
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

// Union types (`["object", "null"]`, `["string", "number"]`) mirror types.ts one to one;
// strict mode refuses them unless allowed explicitly. Everything else stays strict.
const AJV_OPTIONS = { ...AJV_DESCRIBE, strict: true, allowUnionTypes: true } as const;

/** Patterns of the schema in words, for messages. */
const PATTERN_WORDS = { [NAME_PATTERN.source]: "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit" };

/** A JSON file's problems as a ProfileError (syntax errors and duplicates read like schema problems). */
function asProfileError(e: unknown): unknown {
  return e instanceof JsonError ? new ProfileError(e.file, e.problems) : e;
}

/** True when a JSON text is a JSON Schema document (its $schema names a json-schema.org meta-schema). */
export function isJsonSchema(text: string): boolean {
  try {
    const doc = parseStrictJson(text, '', { duplicates: 'allow' }).value as { $schema?: unknown } | null;
    return typeof doc?.$schema === 'string' && /json-schema\.org/.test(doc.$schema);
  } catch {
    return false;
  }
}

/** Compile a JSON Schema text with ajv (strict); throws ProfileError naming the file. */
export function compileSchemaText(text: string, file: string): void {
  let doc: unknown;
  try {
    doc = parseStrictJson(text, file).value;
  } catch (e) {
    throw asProfileError(e);
  }
  try {
    new Ajv(AJV_OPTIONS).compile(doc as object);
  } catch (e) {
    throw new ProfileError(file, [{ path: '', message: `not a valid JSON Schema: ${(e as Error).message}` }]);
  }
}

type SchemaNode = Record<string, unknown>;
let schemaCache: { root: SchemaNode; validate: ValidateFunction } | null = null;

function schema(): NonNullable<typeof schemaCache> {
  if (!schemaCache) {
    const root = readJsonFile(SCHEMA_FILE, { what: 'the device schema' }).value as SchemaNode;
    schemaCache = { root, validate: new Ajv(AJV_OPTIONS).compile(root) };
  }
  return schemaCache;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Expression fields: JSON path, source, allowed variables, and whether the value is a std (must be >= 0). */
function expressionFields(doc: Record<string, unknown>): [string, unknown, readonly string[], boolean][] {
  const out: [string, unknown, readonly string[], boolean][] = [];
  const tv = EXPR_VARIABLES.target;
  if (isObj(doc.programming)) out.push(['/programming/std', doc.programming.std, tv, true]);
  if (isObj(doc.drift)) out.push(['/drift/nuMean', doc.drift.nuMean, tv, false], ['/drift/nuStd', doc.drift.nuStd, tv, true]);
  if (isObj(doc.readNoise)) out.push(['/readNoise/q', doc.readNoise.q, EXPR_VARIABLES.programmed, true]);
  if (isObj(doc.relaxation) && Array.isArray(doc.relaxation.points)) {
    doc.relaxation.points.forEach((pt, i) => {
      if (isObj(pt)) out.push([`/relaxation/points/${i}/std`, pt.std, tv, true]);
    });
  }
  return out.filter(([, src]) => (typeof src === 'string' && src.trim() !== '') || isNum(src));
}

/** Programming noise can place a device far beyond gMax: programmed-conductance expressions must hold up to this multiple of it. */
export const PROGRAMMED_RANGE = 10;

/**
 * The points an expression is checked at: 2001 evenly spaced over the range, the range's
 * ends, and 60 log-spaced points approaching its low end (where logs and divisions blow up).
 */
function checkPoints(lo: number, hi: number): number[] {
  const pts = new Set<number>([lo, hi]);
  for (let i = 0; i <= 2000; i++) pts.add(lo + ((hi - lo) * i) / 2000);
  for (let k = 0; k < 60; k++) pts.add(lo + (hi - lo) * 10 ** (-12 + (k * 12) / 60));
  return [...pts].sort((a, b) => a - b);
}

/**
 * An expression that compiles can still produce NaN or ±Infinity (log(r) at r = 0, a branch
 * `(r >= a) * log(r)` whose zero weight meets -Infinity, a power that overflows above gMax)
 * or a negative std; both silently poison every simulated device, so they are checked over
 * the domain the device can reach: targets in [gMin, gMax]; programmed conductances in
 * [0, PROGRAMMED_RANGE·gMax], since programming noise puts devices beyond gMax.
 */
function rangeProblem(expr: CompiledExpr, vars: readonly string[], gMin: number, gMax: number, isStd: boolean): string | null {
  const programmed = vars.includes('gProg');
  const [gName, rName] = programmed ? ['gProg', 'rProg'] : ['g', 'r'];
  const [lo, hi] = programmed ? [0, PROGRAMMED_RANGE * gMax] : [gMin, gMax];
  for (const g of checkPoints(lo, hi)) {
    const r = g / gMax;
    const v = expr.scalar({ [gName]: g, [rName]: r, gMax, gMin });
    const where = `at ${rName} = ${+r.toPrecision(6)} (${gName} = ${+g.toPrecision(6)} µS${programmed ? `; programmed conductances are checked up to ${PROGRAMMED_RANGE}·gMax` : ''})`;
    if (!Number.isFinite(v))
      return `evaluates to ${v} ${where}; guard logs, divisions and powers, e.g. log(max(${rName}, 1e-7)), min(${rName}, 1)`;
    if (isStd && v < 0) return `evaluates to ${+v.toPrecision(4)} ${where}; a std must be >= 0`;
  }
  return null;
}

/**
 * Checks JSON Schema cannot express. They run on whatever parts of the document have the
 * right shape, so they are reported together with schema errors elsewhere in the file.
 */
function semanticProblems(doc: unknown): ProfileProblem[] {
  if (!isObj(doc)) return [];
  const out: ProfileProblem[] = [];
  const c = isObj(doc.conductance) ? doc.conductance : {};
  const gRangeOk = isNum(c.gMin) && isNum(c.gMax) && c.gMin >= 0 && c.gMax > 0;
  if (gRangeOk && (c.gMax as number) <= (c.gMin as number)) {
    out.push({ path: '/conductance/gMax', message: `expected gMax > gMin (${String(c.gMin)}), got ${String(c.gMax)}` });
  }
  const adc = isObj(doc.periphery) && isObj(doc.periphery.adc) ? doc.periphery.adc : {};
  if ((adc.model === 'ramp' || adc.model === 'sar') && adc.bits === null) {
    out.push({ path: '/periphery/adc/bits', message: `expected an integer number of bits for a ${adc.model} ADC, got null` });
  }
  const dac = isObj(doc.periphery) && isObj(doc.periphery.dac) ? doc.periphery.dac : {};
  if (isObj(doc.periphery) && isNum(doc.periphery.inputBitsPerPass) && dac.bits === null) {
    out.push({
      path: '/periphery/dac/bits',
      message: 'expected an integer number of bits for input bit slicing (periphery.inputBitsPerPass), got null',
    });
  }
  const f = isObj(doc.faults) ? doc.faults : {};
  if (isNum(f.stuckAtGMin) && isNum(f.stuckAtGMax) && f.stuckAtGMin >= 0 && f.stuckAtGMax >= 0 && f.stuckAtGMin + f.stuckAtGMax > 1) {
    out.push({
      path: '/faults',
      message: `expected stuckAtGMin + stuckAtGMax <= 1, got ${+(f.stuckAtGMin + f.stuckAtGMax).toPrecision(12)}`,
    });
  }
  if (isObj(doc.relaxation) && Array.isArray(doc.relaxation.points)) {
    let prev: number | null = null;
    doc.relaxation.points.forEach((pt, i) => {
      const t = isObj(pt) && isNum(pt.t) && pt.t > 0 ? pt.t : null;
      if (t === null) return;
      if (prev !== null && t <= prev)
        out.push({ path: `/relaxation/points/${i}/t`, message: `expected times strictly increasing, got ${t} after ${prev}` });
      prev = t;
    });
  }
  const rangeOk = gRangeOk && (c.gMax as number) > (c.gMin as number);
  for (const [path, src, vars, isStd] of expressionFields(doc)) {
    let expr: CompiledExpr;
    try {
      expr = compileExpr(src as string | number, vars);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      out.push({ path, message: typeof src === 'string' ? `${e.message} in '${src}'` : e.message });
      continue;
    }
    const bad = rangeOk ? rangeProblem(expr, vars, c.gMin as number, c.gMax as number, isStd) : null;
    if (bad) out.push({ path, message: bad });
  }
  return out;
}

function collectProblems(json: unknown, extra: ProfileProblem[] = []): ProfileProblem[] {
  const { root, validate } = schema();
  const found = validate(json) ? [] : describeSchemaErrors(validate.errors, { schema: root, doc: json, patterns: PATTERN_WORDS });
  found.push(...semanticProblems(json), ...extra);
  const seen = new Set<string>();
  // Stable sort: problems at one path keep schema-then-semantic order.
  return found.filter((p) => !seen.has(`${p.path}\n${p.message}`) && seen.add(`${p.path}\n${p.message}`)).sort(bySchemaOrder(root));
}

/** Validate a parsed profile; throws ProfileError listing every problem. */
export function validateProfile(json: unknown, file: string): DeviceProfile {
  const problems = collectProblems(json);
  if (problems.length) throw new ProfileError(file, problems);
  return json as DeviceProfile;
}

/** Parse and validate profile text; JSON syntax errors are reported with line and column, duplicated keys with the schema problems. */
export function parseProfileText(text: string, file: string): DeviceProfile {
  let parsed;
  try {
    parsed = parseStrictJson(text, file, { duplicates: 'report' });
  } catch (e) {
    throw asProfileError(e);
  }
  const problems = collectProblems(parsed.value, parsed.duplicates);
  if (problems.length) throw new ProfileError(file, problems);
  return parsed.value as DeviceProfile;
}

const readText = (file: string) => readTextFile(file, 'device profile');

/** Load a built-in profile by name ('pcm-nandakumar-2019'), or a profile file by path. */
export function loadProfile(nameOrFile: string): DeviceProfile {
  const looksLikePath = /[/\\]/.test(nameOrFile) || nameOrFile.toLowerCase().endsWith('.json');
  if (!looksLikePath && NAME_PATTERN.test(nameOrFile)) {
    const builtin = join(DEVICES_DIR, `${nameOrFile}.json`);
    if (existsSync(builtin)) return parseProfileText(readText(builtin), builtin);
  }
  if (looksLikePath) return parseProfileText(readText(nameOrFile), nameOrFile);
  const names = listProfiles().map((p) => p.name);
  throw new Error(`unknown device '${nameOrFile}' (built-in: ${names.join(', ')}; or give a path to a .json profile)`);
}

/** The built-in profiles, sorted by name. */
export function listProfiles(): { name: string; description: string; file: string }[] {
  return readdirSync(DEVICES_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'device.schema.json')
    .map((f) => {
      const file = join(DEVICES_DIR, f);
      let p: Partial<DeviceProfile>;
      try {
        // Name and description only: duplicates and the rest are loadProfile's to report.
        p = (readJsonFile(file, { what: 'device profile', duplicates: 'allow' }).value ?? {}) as Partial<DeviceProfile>;
      } catch (e) {
        throw asProfileError(e);
      }
      return { name: typeof p.name === 'string' ? p.name : parsePath(f).name, description: String(p.description ?? ''), file };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A temperature in kelvin as `85C` / `85°C` / `358.15K` (a bare number is refused: the unit matters). */
export function parseTemperature(text: string, where: string): number {
  const m = /^\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(°?C|K)\s*$/i.exec(text);
  if (!m) throw new Error(`${where}: expected a temperature with its unit, e.g. 85C or 358.15K, got '${text}'`);
  const v = Number(m[1]);
  const kelvin = /k/i.test(m[2]!) ? v : v + 273.15;
  if (!(kelvin > 0 && kelvin <= 1000)) throw new Error(`${where}: expected a temperature above 0 K and at most 1000 K, got '${text}'`);
  return kelvin;
}

/** `T` (K) as people write it: degrees Celsius, to 2 decimals. */
export function formatTemperature(T: number): string {
  return `${+(T - 273.15).toFixed(2)}°C`;
}

/** A device's name when read at `T` (K): `name@85C`. */
export function nameAtTemperature(name: string, T: number): string {
  return `${name}@${formatTemperature(T).replace('°', '')}`;
}

/**
 * The profile read at temperature `T` (K): its temperature section's operating point set to
 * T, named `name@T`. Refused when the profile has no temperature section (its physics does not
 * say how temperature acts) or when T would make a conductance negative.
 */
export function atTemperature(p: DeviceProfile, T: number): DeviceProfile {
  const s = p.temperature;
  if (!s) {
    throw new Error(
      `${p.name}: the profile has no temperature section, so it cannot be read at ${formatTemperature(T)} (add one: devices/README.md, "temperature")`,
    );
  }
  const hot = { ...p, name: nameAtTemperature(p.name, T), temperature: { ...s, operating: T } };
  const c = temperatureFactors(hot).conductance;
  if (!(c > 0)) {
    throw new Error(
      `${p.name}: at ${formatTemperature(T)} the conductance factor 1 + α·(T − T_ref) = ${+c.toPrecision(6)} is not positive`,
    );
  }
  return T === (s.operating ?? s.reference) ? p : hot;
}

/** A device's name on tiles of rows × cols: `name@512x512`. */
export function nameWithTile(name: string, tile: { rows: number; cols: number }): string {
  return `${name}@${tile.rows}x${tile.cols}`;
}

/**
 * The profile on tiles of `tile.rows` × `tile.cols` weights (everything else, its wires'
 * segment resistances included, as it is), named `name@RxC`: how the same device does on
 * larger or smaller arrays.
 */
export function withTile(p: DeviceProfile, tile: { rows: number; cols: number }): DeviceProfile {
  for (const [k, v] of Object.entries(tile)) {
    if (!Number.isInteger(v) || v < 1 || v > 65536) throw new Error(`tile ${k} must be an integer 1..65536, got ${v}`);
  }
  if (tile.rows === p.tile.rows && tile.cols === p.tile.cols) return p;
  return { ...p, name: nameWithTile(p.name, tile), tile: { ...p.tile, rows: tile.rows, cols: tile.cols } };
}

/** `device` (a name or file) as a deployment reads it: noise scaled, on other tiles, at a read temperature (K). */
export function deploymentProfile(
  device: string,
  o: { noiseScale?: number; tile?: { rows: number; cols: number }; temperature?: number },
): DeviceProfile {
  let p = withNoiseScale(loadProfile(device), o.noiseScale ?? 1);
  if (o.tile) p = withTile(p, o.tile);
  return o.temperature === undefined ? p : atTemperature(p, o.temperature);
}

/**
 * The profile with its stochastic noise scaled by `s`: programming noise and read/relaxation
 * noise std (the profile's `scales`, aihwkit's prog_noise_scale / read_noise_scale). Drift's
 * systematic decay is left alone — it is what drift compensation removes — so a sweep over s
 * asks how a model copes with a noisier (or cleaner) device of the same kind.
 */
export function withNoiseScale(p: DeviceProfile, s: number): DeviceProfile {
  if (!(s >= 0) || !Number.isFinite(s)) throw new Error(`noise scale must be a finite number >= 0, got ${s}`);
  if (s === 1) return p;
  return { ...p, name: `${p.name}@${s}x`, scales: { ...p.scales, programming: p.scales.programming * s, read: p.scales.read * s } };
}
