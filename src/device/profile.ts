/**
 * Device profiles: finding, parsing and validating them. Every problem in a file is
 * reported at once, each as `FILE: /json/pointer: what was expected`, before any work starts:
 * a user fixing a hand-written profile should not have to rerun once per typo.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, parse as parsePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { compileExpr, ExprError, type CompiledExpr } from './expr.js';
import { EXPR_VARIABLES, type DeviceProfile } from './types.js';

export interface ProfileProblem {
  /** JSON pointer of the offending value, e.g. /drift/nuMean ('' for the whole document). */
  path: string;
  message: string;
}

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

/** Walk up from this module to the folder holding devices/device.schema.json (src/ under vitest, dist/src/ after tsc). */
function findDevicesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'devices', 'device.schema.json'))) return join(dir, 'devices');
    const up = dirname(dir);
    if (up === dir) throw new Error('aimc: cannot find the devices/ folder (devices/device.schema.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Absolute path of the built-in profiles folder. */
export const DEVICES_DIR = findDevicesDir();
const SCHEMA_FILE = join(DEVICES_DIR, 'device.schema.json');
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

// Union types (`["object", "null"]`, `["string", "number"]`) mirror types.ts one to one;
// strict mode refuses them unless allowed explicitly. Everything else stays strict.
const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const;

/** True when a JSON text is a JSON Schema document (its $schema names a json-schema.org meta-schema). */
export function isJsonSchema(text: string): boolean {
  try {
    const doc = JSON.parse(stripBom(text)) as { $schema?: unknown };
    return typeof doc.$schema === 'string' && /json-schema\.org/.test(doc.$schema);
  } catch {
    return false;
  }
}

/** Compile a JSON Schema text with ajv (strict); throws ProfileError naming the file. */
export function compileSchemaText(text: string, file: string): void {
  try {
    new Ajv(AJV_OPTIONS).compile(JSON.parse(stripBom(text)) as object);
  } catch (e) {
    throw new ProfileError(file, [{ path: '', message: `not a valid JSON Schema: ${(e as Error).message}` }]);
  }
}

type SchemaNode = Record<string, unknown>;
let schemaCache: { root: SchemaNode; validate: ValidateFunction; homes: Map<string, string[]> } | null = null;

function schema(): NonNullable<typeof schemaCache> {
  if (!schemaCache) {
    const root = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as SchemaNode;
    const validate = new Ajv(AJV_OPTIONS).compile(root);
    // Where each property name is at home, to tell a user who put `t0` under readNoise where it belongs.
    const homes = new Map<string, string[]>();
    const walk = (node: SchemaNode, at: string) => {
      const props = node.properties as Record<string, SchemaNode> | undefined;
      for (const [k, sub] of Object.entries(props ?? {})) {
        homes.set(k, [...(homes.get(k) ?? []), at || '/']);
        walk(sub, `${at}/${k}`);
      }
      const items = node.items as SchemaNode | undefined;
      if (items) walk(items, `${at}/<i>`);
    };
    walk(root, '');
    schemaCache = { root, validate, homes };
  }
  return schemaCache;
}

/** The subschema an ajv schemaPath (#/properties/drift/properties/t0/minimum) points into, keyword dropped. */
function schemaAt(schemaPath: string): SchemaNode | null {
  const parts = schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean);
  parts.pop();
  let cur: unknown = schema().root;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as SchemaNode)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur !== null && typeof cur === 'object' ? (cur as SchemaNode) : null;
}

/** Case-insensitive edit distance with transpositions, for "did you mean" on misspelled property names. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/** A found value quoted for a message: strings in single quotes, long ones cut. */
function quote(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** A found value for a type mismatch: strings are named as such ("got string '25'"). */
function typed(v: unknown): string {
  return typeof v === 'string' ? `string ${quote(v)}` : quote(v);
}

function valueAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

const escapePointer = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** ajv errors as readable problems, one per distinct (path, message). */
function schemaProblems(doc: unknown, errors: ErrorObject[]): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  for (const e of errors) {
    const path = e.instancePath;
    const found = valueAt(doc, path);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        out.push({ path, message: `missing required property '${String(params.missingProperty)}'` });
        break;
      case 'additionalProperties': {
        const extra = String(params.additionalProperty);
        const known = Object.keys((schemaAt(e.schemaPath)?.properties as object | undefined) ?? {});
        const best = known.map((k) => [k, distance(extra, k)] as const).sort((a, b) => a[1] - b[1])[0];
        const home = schema().homes.get(extra)?.filter((h) => h !== (path || '/'));
        let hint = ` (known: ${known.join(', ')})`;
        if (best && best[1] <= Math.max(1, Math.floor(extra.length / 3)) && best[1] < Math.min(extra.length, best[0].length)) hint = ` (did you mean '${best[0]}'?)`;
        else if (home?.length) hint = ` (it belongs under ${home.join(' or ')})`;
        out.push({ path: `${path}/${escapePointer(extra)}`, message: `unknown property '${extra}'${hint}` });
        break;
      }
      case 'type': {
        const t = params.type as string | string[];
        const want = (Array.isArray(t) ? t : t.split(',')).join(' or ');
        out.push({ path, message: `expected ${want}, got ${typed(found)}` });
        break;
      }
      case 'enum': {
        const allowed = (params.allowedValues as unknown[]).map((v) => `'${String(v)}'`).join(', ');
        out.push({ path, message: `expected one of ${allowed}, got ${quote(found)}` });
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const t = schemaAt(e.schemaPath)?.type;
        const kind = t === 'integer' || (Array.isArray(t) && t.includes('integer')) ? 'integer' : 'number';
        out.push({ path, message: `expected ${kind} ${String(params.comparison)} ${String(params.limit)}, got ${quote(found)}` });
        break;
      }
      case 'minItems':
        out.push({ path, message: `expected at least ${String(params.limit)} item(s), got ${(found as unknown[]).length}` });
        break;
      case 'minLength':
        out.push({ path, message: 'expected a non-empty string' });
        break;
      case 'pattern':
        out.push({
          path,
          message:
            path === '/name'
              ? `expected lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (${String(params.pattern)}), got ${quote(found)}`
              : `expected a string matching ${String(params.pattern)}, got ${quote(found)}`,
        });
        break;
      default:
        out.push({ path, message: e.message ?? e.keyword });
    }
  }
  return out;
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
    if (!Number.isFinite(v)) return `evaluates to ${v} ${where}; guard logs, divisions and powers, e.g. log(max(${rName}, 1e-7)), min(${rName}, 1)`;
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
  const f = isObj(doc.faults) ? doc.faults : {};
  if (isNum(f.stuckAtGMin) && isNum(f.stuckAtGMax) && f.stuckAtGMin >= 0 && f.stuckAtGMax >= 0 && f.stuckAtGMin + f.stuckAtGMax > 1) {
    out.push({ path: '/faults', message: `expected stuckAtGMin + stuckAtGMax <= 1, got ${+(f.stuckAtGMin + f.stuckAtGMax).toPrecision(12)}` });
  }
  if (isObj(doc.relaxation) && Array.isArray(doc.relaxation.points)) {
    let prev: number | null = null;
    doc.relaxation.points.forEach((pt, i) => {
      const t = isObj(pt) && isNum(pt.t) && pt.t > 0 ? pt.t : null;
      if (t === null) return;
      if (prev !== null && t <= prev) out.push({ path: `/relaxation/points/${i}/t`, message: `expected times strictly increasing, got ${t} after ${prev}` });
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

/** Sort key of a JSON pointer: the schema's property order, so problems read top to bottom like the file. */
function rank(path: string): number[] {
  const key: number[] = [];
  let node: SchemaNode | undefined = schema().root;
  for (const raw of path.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node?.items && /^\d+$/.test(seg)) {
      key.push(Number(seg));
      node = node.items as SchemaNode;
      continue;
    }
    const children: Record<string, SchemaNode> = (node?.properties as Record<string, SchemaNode> | undefined) ?? {};
    const names: string[] = Object.keys(children);
    const i: number = names.indexOf(seg);
    key.push(i < 0 ? names.length : i);
    node = i < 0 ? undefined : children[seg];
  }
  return key;
}

function byRank(a: ProfileProblem, b: ProfileProblem): number {
  const ka = rank(a.path);
  const kb = rank(b.path);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
  return ka.length - kb.length;
}

function collectProblems(json: unknown, extra: ProfileProblem[] = []): ProfileProblem[] {
  const { validate } = schema();
  const found = validate(json) ? [] : schemaProblems(json, validate.errors ?? []);
  found.push(...semanticProblems(json), ...extra);
  const seen = new Set<string>();
  // Stable sort: problems at one path keep schema-then-semantic order.
  return found.filter((p) => !seen.has(`${p.path}\n${p.message}`) && seen.add(`${p.path}\n${p.message}`)).sort(byRank);
}

/** Validate a parsed profile; throws ProfileError listing every problem. */
export function validateProfile(json: unknown, file: string): DeviceProfile {
  const problems = collectProblems(json);
  if (problems.length) throw new ProfileError(file, problems);
  return json as DeviceProfile;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

interface JsonScan {
  /** First syntax error (offset into the text and what was wrong), if any. */
  error: { offset: number; message: string } | null;
  /** Keys that occur twice in one object: JSON.parse keeps the last silently. */
  duplicates: { path: string; key: string; offset: number }[];
}

/**
 * A strict JSON scanner for what JSON.parse does not say: where a syntax error is (Node 20's
 * messages often carry no position) and which keys are duplicated (a copied-and-edited
 * profile with two "drift" sections would otherwise use the second without a word).
 */
function scanJson(text: string): JsonScan {
  const duplicates: JsonScan['duplicates'] = [];
  let i = 0;
  const got = () => (i >= text.length ? 'end of input' : `'${text[i]}'`);
  const fail = (message: string, at = i): never => {
    throw Object.assign(new Error(message), { offset: at });
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      const ch = text.charCodeAt(i);
      if (ch < 0x20) fail('unescaped control character (a line break?) inside a string');
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape in a string');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail(`bad escape '\\${text[i] ?? ''}' in a string`);
      }
      i++;
    }
    if (i >= text.length) fail('unterminated string', start);
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === "'") fail('property names need double quotes, not single quotes');
        if (text[i] !== '"') fail(`expected a property name in double quotes, got ${got()}`);
        const at = i;
        const key = string();
        if (keys.has(key)) duplicates.push({ path, key, offset: at });
        keys.add(key);
        ws();
        if (text[i] !== ':') fail(`expected ':' after property name '${key}', got ${got()}`);
        i++;
        value(`${path}/${escapePointer(key)}`);
        ws();
        if (text[i] === ',') {
          const comma = i++;
          ws();
          if (text[i] === '}') fail("trailing comma before '}'", comma);
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}' after a property value, got ${got()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}/${n}`);
        ws();
        if (text[i] === ',') {
          const comma = i++;
          ws();
          if (text[i] === ']') fail("trailing comma before ']'", comma);
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']' after an array item, got ${got()}`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (num) {
      i += num[0].length;
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c === "'") fail('strings need double quotes, not single quotes');
    if (c === undefined) fail(path === '' && text.trim() === '' ? 'the file is empty' : 'unexpected end of input (a missing closing bracket?)');
    fail(`expected a value (number, string, true, false, null, object or array), got ${got()}`);
  };
  try {
    value('');
    ws();
    if (i < text.length) fail(`unexpected ${got()} after the end of the document`);
    return { error: null, duplicates };
  } catch (e) {
    return { error: { offset: (e as { offset: number }).offset, message: (e as Error).message }, duplicates };
  }
}

/** Parse and validate profile text; JSON syntax errors are reported with line and column. */
export function parseProfileText(text: string, file: string): DeviceProfile {
  const src = stripBom(text);
  const scan = scanJson(src);
  let json: unknown;
  try {
    json = JSON.parse(src);
  } catch (e) {
    const where = scan.error ? ` at ${lineColumn(src, scan.error.offset)}: ${scan.error.message}` : `: ${(e as Error).message}`;
    throw new ProfileError(file, [{ path: '', message: `invalid JSON${where}` }]);
  }
  const dupes = scan.duplicates.map((d) => ({
    path: `${d.path}/${escapePointer(d.key)}`,
    message: `duplicate property '${d.key}' (${lineColumn(src, d.offset)}); only the last one would count`,
  }));
  const problems = collectProblems(json, dupes);
  if (problems.length) throw new ProfileError(file, problems);
  return json as DeviceProfile;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : err.message;
    throw new Error(`${file}: cannot read ${what} (${reason})`);
  }
}

/** Load a built-in profile by name ('pcm-nandakumar-2019'), or a profile file by path. */
export function loadProfile(nameOrFile: string): DeviceProfile {
  const looksLikePath = /[/\\]/.test(nameOrFile) || nameOrFile.toLowerCase().endsWith('.json');
  if (!looksLikePath && NAME_PATTERN.test(nameOrFile)) {
    const builtin = join(DEVICES_DIR, `${nameOrFile}.json`);
    if (existsSync(builtin)) return parseProfileText(readText(builtin, 'device profile'), builtin);
  }
  if (looksLikePath) return parseProfileText(readText(nameOrFile, 'device profile'), nameOrFile);
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
        p = JSON.parse(stripBom(readFileSync(file, 'utf8'))) as Partial<DeviceProfile>;
      } catch (e) {
        throw new ProfileError(file, [{ path: '', message: `invalid JSON: ${(e as Error).message}` }]);
      }
      return { name: typeof p.name === 'string' ? p.name : parsePath(f).name, description: String(p.description ?? ''), file };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
