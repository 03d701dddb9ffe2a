/**
 * The one describer of JSON Schema (ajv) errors, for device profiles, plugin configs and
 * experiment specs alike. Each error becomes a problem `{ path, message }`: the JSON pointer
 * of the offending value and what was expected there, with the value found where there is
 * one — `expected integer >= 1, got 0`, `expected one of 'digital', 'merged', got 'analog'`,
 * `unknown property 'placment' (did you mean 'placement'?)`. Callers add the file.
 *
 * Compile schemas with ajv's `verbose: true` (see AJV_DESCRIBE) so each error carries the
 * schema it comes from and the value it was about; without it the describer falls back to
 * looking both up by path.
 */
import type { ErrorObject } from 'ajv';
import { escapePointer, unescapePointer, valueAt, type JsonProblem } from './json.js';

/** Ajv options the describer needs (spread them into the caller's). */
export const AJV_DESCRIBE = { allErrors: true, verbose: true } as const;

export interface DescribeOptions {
  /** The root schema: property names known elsewhere in it give "it belongs under …" hints. */
  schema?: unknown;
  /** The validated document, for found values when errors carry no `data` (ajv without verbose). */
  doc?: unknown;
  /** Plain-words descriptions of `pattern`s, by the pattern's source text. */
  patterns?: Record<string, string>;
}

type SchemaNode = Record<string, unknown>;
const isNode = (v: unknown): v is SchemaNode => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `${path}: ${message}`, '/' for the whole document: one problem as a message line (callers prefix the file). */
export function problemLine(p: JsonProblem): string {
  return `${p.path || '/'}: ${p.message}`;
}

/** A local `$ref` (#/definitions/x) resolved against the root; null for anything else. */
function resolveRef(root: unknown, ref: unknown): SchemaNode | null {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return null;
  let cur: unknown = root;
  for (const p of ref.slice(1).split('/').filter(Boolean)) {
    if (!isNode(cur)) return null;
    cur = cur[unescapePointer(p)];
  }
  return isNode(cur) ? cur : null;
}

/** The subschema an ajv schemaPath (#/properties/drift/properties/t0/minimum) points into, keyword dropped. */
function schemaAt(root: unknown, schemaPath: string): SchemaNode | null {
  // `other-id#/…`: a keyword in another schema (an external $ref), not found from this root.
  if (!schemaPath.startsWith('#')) return null;
  const parts = schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean);
  parts.pop();
  let cur: unknown = root;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as SchemaNode)[unescapePointer(p)];
  }
  return isNode(cur) ? cur : null;
}

const homesCache = new WeakMap<object, Map<string, string[]>>();

/** Where each property name is at home in a schema, to tell a user who put `t0` under readNoise where it belongs. */
function homes(root: unknown): Map<string, string[]> {
  if (!isNode(root)) return new Map();
  const hit = homesCache.get(root);
  if (hit) return hit;
  const out = new Map<string, string[]>();
  const walk = (node: unknown, at: string, seen: Set<unknown>) => {
    if (!isNode(node) || seen.has(node)) return;
    const inner = new Set(seen).add(node);
    const ref = resolveRef(root, node.$ref);
    if (ref) walk(ref, at, inner);
    for (const k of ['oneOf', 'anyOf', 'allOf'] as const)
      if (Array.isArray(node[k])) for (const b of node[k] as unknown[]) walk(b, at, inner);
    for (const [k, sub] of Object.entries(isNode(node.properties) ? node.properties : {})) {
      const list = out.get(k) ?? [];
      if (!list.includes(at || '/')) out.set(k, [...list, at || '/']);
      walk(sub, `${at}/${k}`, inner);
    }
    if (isNode(node.items)) walk(node.items, `${at}/<i>`, inner);
  };
  walk(root, '', new Set());
  homesCache.set(root, out);
  return out;
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
export function quote(v: unknown): string {
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

/** An allowed value (enum, const): strings in single quotes, anything else as JSON. */
function allowed(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

/** The property hint of an unknown property: a close spelling, the section it belongs to, or the known names. */
function unknownHint(extra: string, known: string[], at: string, root: unknown): string {
  const best = known.map((k) => [k, distance(extra, k)] as const).sort((a, b) => a[1] - b[1])[0];
  if (best && best[1] <= Math.max(1, Math.floor(extra.length / 3)) && best[1] < Math.min(extra.length, best[0].length))
    return ` (did you mean '${best[0]}'?)`;
  const home = homes(root)
    .get(extra)
    ?.filter((h) => h !== (at || '/'));
  if (home?.length) return ` (it belongs under ${home.join(' or ')})`;
  return known.length ? ` (known: ${known.join(', ')})` : '';
}

/** One ajv error as a problem. */
function describeOne(e: ErrorObject, o: DescribeOptions): JsonProblem {
  const path = e.instancePath;
  const found = 'data' in e ? e.data : valueAt(o.doc, path);
  const parent = isNode(e.parentSchema) ? e.parentSchema : schemaAt(o.schema, e.schemaPath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path, message: `missing required property '${String(params.missingProperty)}'` };
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      const known = Object.keys(isNode(parent?.properties) ? parent.properties : {});
      return {
        path: `${path}/${escapePointer(extra)}`,
        message: `unknown property '${extra}'${unknownHint(extra, known, path, o.schema)}`,
      };
    }
    case 'type': {
      const t = params.type as string | string[];
      const want = (Array.isArray(t) ? t : t.split(',')).join(' or ');
      return { path, message: `expected ${want}, got ${typed(found)}` };
    }
    case 'enum':
      return { path, message: `expected one of ${(params.allowedValues as unknown[]).map(allowed).join(', ')}, got ${quote(found)}` };
    case 'const':
      return { path, message: `expected ${allowed(params.allowedValue)}, got ${quote(found)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const t = parent?.type;
      const kind = t === 'integer' || (Array.isArray(t) && t.includes('integer')) ? 'integer' : 'number';
      return { path, message: `expected ${kind} ${String(params.comparison)} ${String(params.limit)}, got ${quote(found)}` };
    }
    case 'multipleOf':
      return { path, message: `expected a multiple of ${String(params.multipleOf)}, got ${quote(found)}` };
    case 'minItems':
      return {
        path,
        message: `expected at least ${String(params.limit)} item(s), got ${Array.isArray(found) ? found.length : quote(found)}`,
      };
    case 'maxItems':
      return {
        path,
        message: `expected at most ${String(params.limit)} item(s), got ${Array.isArray(found) ? found.length : quote(found)}`,
      };
    case 'uniqueItems': {
      const [a, b] = [Number(params.i), Number(params.j)].sort((x, y) => x - y);
      return { path, message: `expected unique items, got items ${a} and ${b} equal` };
    }
    case 'minLength':
      return {
        path,
        message:
          params.limit === 1
            ? 'expected a non-empty string'
            : `expected a string of at least ${String(params.limit)} character(s), got ${quote(found)}`,
      };
    case 'maxLength':
      return {
        path,
        message: `expected a string of at most ${String(params.limit)} character(s), got ${typeof found === 'string' ? `${found.length}` : quote(found)}`,
      };
    case 'pattern': {
      const pattern = String(params.pattern);
      const words = o.patterns?.[pattern];
      return {
        path,
        message: words
          ? `expected ${words} (${pattern}), got ${quote(found)}`
          : `expected a string matching ${pattern}, got ${quote(found)}`,
      };
    }
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/**
 * ajv errors as readable problems, one per distinct (path, message), in ajv's order. A
 * oneOf/anyOf summary ("must match exactly one schema") is left out when its branches'
 * own complaints are there to say what was expected.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined, o: DescribeOptions = {}): JsonProblem[] {
  const list = errors ?? [];
  const out: JsonProblem[] = [];
  const seen = new Set<string>();
  for (const e of list) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') {
      const at = e.instancePath;
      if (list.some((x) => x !== e && x.keyword !== e.keyword && (x.instancePath === at || x.instancePath.startsWith(`${at}/`)))) continue;
    }
    const p = describeOne(e, o);
    const key = `${p.path}\n${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/** Sort key of a JSON pointer: the schema's property order (array items by index). */
function rank(root: unknown, path: string): number[] {
  const key: number[] = [];
  let node: SchemaNode | undefined = isNode(root) ? root : undefined;
  for (const raw of path.split('/').slice(1)) {
    const seg = unescapePointer(raw);
    if (node && isNode(node.items) && /^\d+$/.test(seg)) {
      key.push(Number(seg));
      node = node.items;
      continue;
    }
    const children: Record<string, unknown> = node && isNode(node.properties) ? node.properties : {};
    const names = Object.keys(children);
    const i = names.indexOf(seg);
    key.push(i < 0 ? names.length : i);
    const next = i < 0 ? undefined : children[seg];
    node = isNode(next) ? next : undefined;
  }
  return key;
}

/** A comparator putting problems in the schema's property order, so they read top to bottom like a file written in that order. */
export function bySchemaOrder(root: unknown): (a: JsonProblem, b: JsonProblem) => number {
  return (a, b) => {
    const ka = rank(root, a.path);
    const kb = rank(root, b.path);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return ka.length - kb.length;
  };
}
