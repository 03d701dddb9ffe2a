/**
 * Checks that keep a plugin's three descriptions of its config — schema.json (what is
 * validated), the TypeScript config type (what create() reads) and the README's config table
 * (what users read) — from drifting apart. Used by test/peft/schema.test.ts; see
 * plugins/README.md for why these are checks rather than generated files.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { PLUGIN_BASE_ID, PLUGIN_BASE_SCHEMA } from '../../src/peft/schema.js';

type Node = Record<string, unknown>;

const BASE_REF = `${PLUGIN_BASE_ID}#/definitions/`;

/** A property schema with a reference to the shared definitions merged in (its own keywords win, as description and default). */
export function resolveProperty(prop: Node): Node {
  const ref = prop.$ref;
  if (typeof ref !== 'string') return prop;
  if (!ref.startsWith(BASE_REF)) throw new Error(`unsupported $ref ${ref} (only ${BASE_REF}…)`);
  const defs = PLUGIN_BASE_SCHEMA.definitions as Record<string, Node>;
  const base = defs[ref.slice(BASE_REF.length)];
  if (!base) throw new Error(`$ref ${ref}: no such shared definition`);
  const { $ref: _, ...own } = prop;
  return { ...base, ...own };
}

/** The config properties of a plugin schema, references resolved, in schema order. */
export function schemaProperties(schema: Node): [string, Node][] {
  return Object.entries((schema.properties ?? {}) as Record<string, Node>).map(([k, v]) => [k, resolveProperty(v)]);
}

/** A JSON Schema property as a TypeScript type, written canonically (union members sorted, integer as number). */
export function schemaType(s: Node): string {
  if (Array.isArray(s.enum)) return union(s.enum.map((v) => JSON.stringify(v).replace(/"/g, "'")));
  const t = s.type;
  if (Array.isArray(t)) return union(t.map((x) => schemaType({ type: x })));
  switch (t) {
    case 'string':
    case 'boolean':
      return t;
    case 'number':
    case 'integer':
      return 'number';
    case 'array':
      return `${arrayElement(schemaType((s.items ?? {}) as Node))}[]`;
    default:
      throw new Error(`schemaType: unsupported schema ${JSON.stringify(s)} (extend test/peft/schema-check.ts)`);
  }
}

function union(members: string[]): string {
  return [...new Set(members)].sort().join(' | ');
}

function arrayElement(t: string): string {
  return t.includes(' | ') ? `(${t})` : t;
}

/** A TypeScript type written the same way as schemaType writes a schema. */
function tsType(checker: ts.TypeChecker, t: ts.Type): string {
  if (t.flags & ts.TypeFlags.Boolean) return 'boolean';
  if (t.isUnion()) {
    // boolean inside a union shows as its two literals.
    const members = t.types.map((m) => tsType(checker, m));
    const bool = members.includes('true') && members.includes('false');
    return union(bool ? [...members.filter((m) => m !== 'true' && m !== 'false'), 'boolean'] : members);
  }
  if (t.isStringLiteral()) return `'${t.value}'`;
  if (t.isNumberLiteral()) return String(t.value);
  if (t.flags & ts.TypeFlags.BooleanLiteral) return checker.typeToString(t);
  if (t.flags & ts.TypeFlags.String) return 'string';
  if (t.flags & ts.TypeFlags.Number) return 'number';
  if (checker.isArrayType(t)) return `${arrayElement(tsType(checker, checker.getTypeArguments(t as ts.TypeReference)[0]!))}[]`;
  return checker.typeToString(t);
}

/** The config type a plugin module's default export declares: the first parameter of its create() (AdapterPlugin<C>). */
function configType(checker: ts.TypeChecker, file: ts.SourceFile): ts.Type {
  const mod = checker.getSymbolAtLocation(file);
  let def = mod && checker.getExportsOfModule(mod).find((s) => s.escapedName === 'default');
  if (!def) throw new Error(`${file.fileName}: no default export`);
  if (def.flags & ts.SymbolFlags.Alias) def = checker.getAliasedSymbol(def);
  const plugin = checker.getTypeOfSymbol(def);
  const create = checker.getPropertyOfType(plugin, 'create');
  const sig = create && checker.getTypeOfSymbol(create).getCallSignatures()[0];
  const param = sig?.parameters[0];
  if (!param) throw new Error(`${file.fileName}: the default export's create() declares no config parameter (declare the export as AdapterPlugin<Config>)`);
  return checker.getTypeOfSymbol(param);
}

/**
 * Compare each plugin module's config type with its schema; returns one line per
 * disagreement (empty: they agree). A property is optional in the type exactly when the
 * validated config may lack it: no default and not required.
 */
export function configTypeProblems(plugins: { module: string; schema: Node }[]): string[] {
  const program = ts.createProgram(
    plugins.map((p) => p.module),
    { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [] },
  );
  const checker = program.getTypeChecker();
  const problems: string[] = [];
  for (const p of plugins) {
    const file = program.getSourceFile(p.module);
    if (!file) throw new Error(`${p.module}: not in the program`);
    const type = configType(checker, file);
    const inType = new Map(checker.getPropertiesOfType(type).map((s) => [s.name, s]));
    const required = new Set((p.schema.required ?? []) as string[]);
    const inSchema = schemaProperties(p.schema);
    const where = `${p.module}: config type ${checker.typeToString(type)}`;
    for (const [name, s] of inSchema) {
      const sym = inType.get(name);
      if (!sym) {
        problems.push(`${where}: no property '${name}' (schema: ${schemaType(s)})`);
        continue;
      }
      const optional = (sym.flags & ts.SymbolFlags.Optional) !== 0;
      const mayBeAbsent = !('default' in s) && !required.has(name);
      if (optional !== mayBeAbsent) problems.push(`${where}: '${name}' should be ${mayBeAbsent ? 'optional (the schema gives it no default)' : 'required (the schema gives it a default or requires it)'}`);
      const got = tsType(checker, checker.getNonNullableType(checker.getTypeOfSymbol(sym)));
      const want = schemaType(s);
      if (got !== want) problems.push(`${where}: '${name}' is ${got}, the schema says ${want}`);
    }
    const names = new Set(inSchema.map(([n]) => n));
    for (const name of inType.keys()) if (!names.has(name)) problems.push(`${where}: '${name}' is not in the schema (validation refuses it)`);
  }
  return problems;
}

/** Cells of the README's config table (`| config | default | meaning |`), one row each. */
function configTable(readme: string): string[][] | null {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^\|\s*config\s*\|\s*default\s*\|\s*meaning\s*\|/.test(l));
  if (start < 0) return null;
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, l.endsWith('|') ? -1 : undefined).split('|').map((c) => c.trim()));
  }
  return rows;
}

/** How a default is written in a README cell: each array element, or the value, as its own word. */
function defaultWords(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [String(v)];
}

/**
 * Check a plugin README against its schema: one config-table row per schema property (a row
 * may name several), no row for a property the schema lacks, every default stated in the
 * default column and a meaning for each; a plugin without options says "No config options."
 */
export function readmeProblems(readmeFile: string, schema: Node): string[] {
  const readme = readFileSync(readmeFile, 'utf8');
  const props = schemaProperties(schema);
  const rows = configTable(readme);
  if (!props.length) {
    if (rows) return [`${readmeFile}: a config table, but the schema has no properties`];
    return readme.includes('No config options.') ? [] : [`${readmeFile}: the schema has no properties: say "No config options."`];
  }
  if (!rows) return [`${readmeFile}: no config table (| config | default | meaning |)`];
  const problems: string[] = [];
  const documented = new Map<string, string[]>();
  for (const cells of rows) {
    const [names = '', def = '', meaning = ''] = cells;
    const listed = [...names.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (!listed.length) problems.push(`${readmeFile}: config row '${names}' names no property in backticks`);
    if (!def) problems.push(`${readmeFile}: ${names}: empty default cell (write — when there is none)`);
    if (!meaning) problems.push(`${readmeFile}: ${names}: empty meaning cell`);
    for (const n of listed) {
      if (documented.has(n)) problems.push(`${readmeFile}: '${n}' documented twice`);
      documented.set(n, cells);
    }
  }
  for (const [name, s] of props) {
    const cells = documented.get(name);
    if (!cells) {
      problems.push(`${readmeFile}: schema property '${name}' is not in the config table`);
      continue;
    }
    if (!('default' in s)) continue;
    const words = new Set((cells[1] ?? '').split(/[^\w.+-]+/).filter(Boolean));
    const missing = defaultWords(s.default).filter((w) => !words.has(w));
    if (missing.length) problems.push(`${readmeFile}: '${name}': the default column does not say the schema's default ${JSON.stringify(s.default)} (missing ${missing.join(', ')})`);
  }
  const names = new Set(props.map(([n]) => n));
  for (const n of documented.keys()) if (!names.has(n)) problems.push(`${readmeFile}: '${n}' is documented but not in the schema`);
  return problems;
}
