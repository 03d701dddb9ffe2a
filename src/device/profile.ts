/**
 * Device profiles: finding, parsing and validating them. Every problem in a file is
 * reported at once, each as `FILE: /json/pointer: what was expected`, before any work starts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { compileExpr, ExprError } from './expr.js';
import { EXPR_VARIABLES, type DeviceProfile } from './types.js';

export interface ProfileProblem {
  /** JSON pointer of the offending value, e.g. /drift/nuMean ('' for the whole document). */
  path: string;
  message: string;
}

export class ProfileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ProfileProblem[],
  ) {
    super(problems.map((p) => `${file}: ${p.path || '/'}: ${p.message}`).join('\n'));
    this.name = 'ProfileError';
  }
}

/** Walk up from this module to the folder holding devices/device.schema.json. */
function findDevicesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'devices', 'device.schema.json'))) return join(dir, 'devices');
    dir = resolve(dir, '..');
  }
  throw new Error('aimc: cannot find the devices/ folder (devices/device.schema.json)');
}

/** Absolute path of the built-in profiles folder. */
export const DEVICES_DIR = findDevicesDir();
const SCHEMA_FILE = join(DEVICES_DIR, 'device.schema.json');

/** True when a JSON text is a JSON Schema document (its $schema names a json-schema.org meta-schema). */
export function isJsonSchema(text: string): boolean {
  try {
    const doc = JSON.parse(text) as { $schema?: unknown };
    return typeof doc.$schema === 'string' && /json-schema\.org/.test(doc.$schema);
  } catch {
    return false;
  }
}

/** Compile a JSON Schema text with ajv (strict); throws ProfileError naming the file. */
export function compileSchemaText(text: string, file: string): void {
  try {
    new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(JSON.parse(text) as object);
  } catch (e) {
    throw new ProfileError(file, [{ path: '', message: `not a valid JSON Schema: ${(e as Error).message}` }]);
  }
}

let validator: ValidateFunction | null = null;
function schemaValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  }
  return validator;
}

/** Edit distance, for "did you mean" on misspelled property names. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Value at a JSON pointer (for quoting what was found). */
function valueAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Schema (sub)object at a JSON-schema path like #/properties/drift/properties/t0. */
function schemaAt(schemaPath: string): Record<string, unknown> | null {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  const parts = schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean);
  parts.pop(); // the keyword itself
  let cur: unknown = schema;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[p];
  }
  return (cur as Record<string, unknown>) ?? null;
}

/** Turn ajv errors into one readable problem per distinct path. */
function schemaProblems(doc: unknown, errors: ErrorObject[]): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  // A nullable section that is neither null nor valid makes ajv report a 'type' error on
  // the section and further errors inside it; the inner ones are the useful ones.
  const typeOnly = new Set(errors.filter((e) => e.keyword !== 'type').map((e) => e.instancePath));
  for (const e of errors) {
    const path = e.instancePath;
    const found = valueAt(doc, path);
    switch (e.keyword) {
      case 'required':
        out.push({ path, message: `missing required property '${(e.params as { missingProperty: string }).missingProperty}'` });
        break;
      case 'additionalProperty':
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys((schemaAt(e.schemaPath)?.properties as object) ?? {});
        const best = known.map((k) => [k, distance(extra, k)] as const).sort((a, b) => a[1] - b[1])[0];
        const hint = best && best[1] <= Math.max(2, extra.length / 3) ? ` (did you mean '${best[0]}'?)` : ` (known: ${known.join(', ')})`;
        out.push({ path: `${path}/${extra}`, message: `unknown property '${extra}'${hint}` });
        break;
      }
      case 'type': {
        if (typeOnly.has(path) && found !== null && typeof found === 'object') break;
        const t = (e.params as { type: string | string[] }).type;
        const want = (Array.isArray(t) ? t : t.split(',')).join(' or ');
        out.push({ path, message: `expected ${want}, got ${describe(found)}` });
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => `'${String(v)}'`).join(', ');
        out.push({ path, message: `expected one of ${allowed}, got ${describe(found)}` });
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const p = e.params as { comparison: string; limit: number };
        out.push({ path, message: `expected a number ${p.comparison} ${p.limit}, got ${describe(found)}` });
        break;
      }
      case 'minItems':
        out.push({ path, message: `expected at least ${(e.params as { limit: number }).limit} item(s), got ${(found as unknown[]).length}` });
        break;
      case 'minLength':
        out.push({ path, message: 'expected a non-empty string' });
        break;
      case 'pattern':
        out.push({ path, message: `expected a string matching ${(e.params as { pattern: string }).pattern}, got ${describe(found)}` });
        break;
      default:
        out.push({ path, message: e.message ?? e.keyword });
    }
  }
  // ajv can report the same problem through several schema branches.
  const seen = new Set<string>();
  return out.filter((p) => !seen.has(p.path + p.message) && seen.add(p.path + p.message));
}

/** Checks JSON Schema cannot express; run on documents that passed the schema. */
function semanticProblems(p: DeviceProfile): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  if (p.conductance.gMax <= p.conductance.gMin) {
    out.push({ path: '/conductance/gMax', message: `expected gMax > gMin (${p.conductance.gMin}), got ${p.conductance.gMax}` });
  }
  if (p.faults.stuckAtGMin + p.faults.stuckAtGMax > 1) {
    out.push({ path: '/faults', message: `expected stuckAtGMin + stuckAtGMax <= 1, got ${p.faults.stuckAtGMin + p.faults.stuckAtGMax}` });
  }
  const exprs: [string, string | number, readonly string[]][] = [['/programming/std', p.programming.std, EXPR_VARIABLES.target]];
  if (p.drift) {
    exprs.push(['/drift/nuMean', p.drift.nuMean, EXPR_VARIABLES.target], ['/drift/nuStd', p.drift.nuStd, EXPR_VARIABLES.target]);
  }
  if (p.readNoise) exprs.push(['/readNoise/q', p.readNoise.q, EXPR_VARIABLES.programmed]);
  p.relaxation?.points.forEach((pt, i) => {
    exprs.push([`/relaxation/points/${i}/std`, pt.std, EXPR_VARIABLES.target]);
    const prev = p.relaxation!.points[i - 1];
    if (prev && pt.t <= prev.t) {
      out.push({ path: `/relaxation/points/${i}/t`, message: `expected times strictly increasing, got ${pt.t} after ${prev.t}` });
    }
  });
  for (const [path, src, vars] of exprs) {
    try {
      compileExpr(src, vars);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      out.push({ path, message: `${e.message} in ${JSON.stringify(e.expression)}` });
    }
  }
  return out;
}

/** Validate a parsed profile; throws ProfileError listing every problem. */
export function validateProfile(json: unknown, file: string): DeviceProfile {
  const validate = schemaValidator();
  if (!validate(json)) throw new ProfileError(file, schemaProblems(json, validate.errors ?? []));
  const profile = json as DeviceProfile;
  const problems = semanticProblems(profile);
  if (problems.length) throw new ProfileError(file, problems);
  return profile;
}

/** Parse and validate profile text; JSON syntax errors are reported with line and column. */
export function parseProfileText(text: string, file: string): DeviceProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    let where = '';
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos).split('\n');
      where = ` at line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
    }
    throw new ProfileError(file, [{ path: '', message: `invalid JSON${where}: ${msg.replace(/ in JSON at position \d+.*$/, '')}` }]);
  }
  return validateProfile(json, file);
}

/** Load a built-in profile by name, or a profile file by path. */
export function loadProfile(nameOrFile: string): DeviceProfile {
  const builtin = join(DEVICES_DIR, `${nameOrFile}.json`);
  if (/^[a-z0-9][a-z0-9._-]*$/.test(nameOrFile) && existsSync(builtin)) return parseProfileText(readFileSync(builtin, 'utf8'), builtin);
  if (nameOrFile.endsWith('.json') || nameOrFile.includes('/')) {
    let text: string;
    try {
      text = readFileSync(nameOrFile, 'utf8');
    } catch (e) {
      throw new Error(`${nameOrFile}: cannot read device profile (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return parseProfileText(text, nameOrFile);
  }
  throw new Error(`unknown device '${nameOrFile}' (built-in: ${listProfiles().map((p) => p.name).join(', ')}; or give a path to a .json profile)`);
}

/** The built-in profiles, sorted by name. */
export function listProfiles(): { name: string; description: string; file: string }[] {
  return readdirSync(DEVICES_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'device.schema.json')
    .map((f) => {
      const file = join(DEVICES_DIR, f);
      const p = JSON.parse(readFileSync(file, 'utf8')) as DeviceProfile;
      return { name: p.name, description: p.description, file };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
