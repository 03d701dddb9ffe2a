/**
 * Plugin discovery and loading. A plugin is a folder with `schema.json` (its config's JSON
 * Schema), `plugin.json` (what it is: name, description, formula, training defaults — see
 * plugins/plugin.schema.json; optional when the module states them), `README.md` and a
 * module (`index.js`/`index.mjs`, or `index.ts` for the built-ins when running from source)
 * whose default export has create(). Built-ins live in
 * `plugins/<name>/`; any other folder is loaded from the path the user gives, so a
 * third-party plugin needs no change to aimc.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { readJsonFile } from '../input/json.js';
import { AJV_DESCRIBE, describeSchemaErrors, problemLine } from '../input/schema-errors.js';
import { packageRoot } from '../input/package-root.js';
import type { AdapterPlugin, LoadedPlugin } from './types.js';

/** True when this module itself is TypeScript, i.e. a TS-aware runner (vitest) imports the sources. */
const FROM_SOURCE = fileURLToPath(import.meta.url).endsWith('.ts');

/** The aimc package root (where plugins/ and package.json are). */
const ROOT = packageRoot();
/** Built-in plugin folders (schema.json, README.md, index.ts). */
export const PLUGINS_DIR = join(ROOT, 'plugins');
/** Where the compiled built-in modules are (npm run build). */
const COMPILED_DIR = join(ROOT, 'dist', 'plugins');

/** Names of the built-in plugins, sorted. */
export function builtinPluginNames(): string[] {
  return readdirSync(PLUGINS_DIR)
    .filter((n) => existsSync(join(PLUGINS_DIR, n, 'schema.json')))
    .sort();
}

/** True when the argument names a folder rather than a built-in. */
function isPath(nameOrPath: string): boolean {
  return /[\\/]/.test(nameOrPath) || nameOrPath.startsWith('.');
}

function moduleFile(dir: string, builtin: boolean, name: string): string {
  const candidates = builtin
    ? [join(COMPILED_DIR, name, 'index.js'), join(dir, 'index.js'), join(dir, 'index.ts')]
    : [join(dir, 'index.js'), join(dir, 'index.mjs'), join(dir, 'index.ts')];
  // Running from TypeScript sources (vitest): prefer them so tests see the code under test.
  // Worker threads run compiled JavaScript and take the compiled built-ins.
  if (builtin && FROM_SOURCE) candidates.unshift(join(dir, 'index.ts'));
  const found = candidates.find((f) => existsSync(f));
  if (!found)
    throw new Error(
      `${dir}: no plugin module (expected ${candidates.map((c) => c.slice(dir.length + 1) || c).join(' or ')}); run \`npm run build\` for the built-ins`,
    );
  if (found.endsWith('.ts') && !FROM_SOURCE) {
    throw new Error(`${found}: Node cannot import TypeScript; compile the plugin to index.js (tsc) or write it in JavaScript`);
  }
  return found;
}

function readSchema(dir: string): Record<string, unknown> {
  const file = join(dir, 'schema.json');
  if (!existsSync(file)) throw new Error(`${dir}: not a plugin folder (no schema.json)`);
  // Duplicated keys are refused: in a schema the first of two "properties" or "minimum" would vanish without a word.
  return readJsonFile(file, { what: 'plugin schema' }).value as Record<string, unknown>;
}

/** What a plugin is, as data (plugin.json or the module's default export). */
const MANIFEST_FIELDS = ['name', 'description', 'formula', 'readsDeployment', 'training'] as const;
const MANIFEST_SCHEMA_FILE = join(PLUGINS_DIR, 'plugin.schema.json');
let manifestValidator: ValidateFunction | null = null;

function readManifest(dir: string): { file: string; value: Record<string, unknown> } | null {
  const file = join(dir, 'plugin.json');
  if (!existsSync(file)) return null;
  const value = readJsonFile(file, { what: 'plugin manifest' }).value;
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${file}: expected a JSON object (see plugins/plugin.schema.json)`);
  return { file, value: value as Record<string, unknown> };
}

/**
 * The plugin as the host holds it: the manifest's fields and the module's (a field may be in
 * either, not differently in both), checked against plugins/plugin.schema.json, and create().
 */
function assemblePlugin(mod: unknown, file: string, manifest: { file: string; value: Record<string, unknown> } | null): AdapterPlugin {
  if (!mod || typeof mod !== 'object')
    throw new Error(
      `${file}: the default export must be a plugin object { create } (name and description in plugin.json or on the object)`,
    );
  const o = mod as Record<string, unknown>;
  if (typeof o.create !== 'function')
    throw new Error(`${file}: invalid plugin export: create: expected a function (config, ctx) => adapter`);
  const meta: Record<string, unknown> = {};
  for (const k of MANIFEST_FIELDS) {
    const a = manifest?.value[k];
    const b = o[k];
    if (a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
      throw new Error(`${file}: '${k}' differs from ${manifest!.file}'s; give it in one place`);
    }
    if (b !== undefined || a !== undefined) meta[k] = b ?? a;
  }
  for (const k of Object.keys(manifest?.value ?? {}))
    if (!MANIFEST_FIELDS.includes(k as never) && k !== '$schema' && k !== '$comment') meta[k] = manifest!.value[k];
  manifestValidator ??= new Ajv(AJV_DESCRIBE).compile(
    readJsonFile(MANIFEST_SCHEMA_FILE, { what: 'plugin manifest schema' }).value as object,
  );
  if (!manifestValidator(meta)) {
    const where = manifest ? `${manifest.file} (with ${file})` : file;
    const problems = describeSchemaErrors(manifestValidator.errors, { doc: meta }).map(problemLine);
    throw new Error(`${where}: invalid plugin: ${problems.join('; ')}`);
  }
  const create = o.create as AdapterPlugin['create'];
  return { ...(meta as Omit<AdapterPlugin, 'create'>), create: (config, ctx) => create.call(o, config, ctx) };
}

const cache = new Map<string, LoadedPlugin>();

/** Load a built-in plugin by name, or a plugin folder by path. */
export async function loadPlugin(nameOrPath: string): Promise<LoadedPlugin> {
  const builtin = !isPath(nameOrPath);
  const dir = builtin ? join(PLUGINS_DIR, nameOrPath) : resolve(nameOrPath);
  const hit = cache.get(dir);
  if (hit) return hit;
  if (builtin && !builtinPluginNames().includes(nameOrPath)) {
    throw new Error(`unknown adapter '${nameOrPath}' (built-in: ${builtinPluginNames().join(', ')}; or a path to a plugin folder)`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${nameOrPath}: no such plugin folder`);
  const configSchema = readSchema(dir);
  const file = moduleFile(dir, builtin, nameOrPath);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const plugin = assemblePlugin(mod.default, file, readManifest(dir));
  const loaded: LoadedPlugin = { plugin, dir, configSchema, builtin };
  cache.set(dir, loaded);
  return loaded;
}

/** One line per built-in plugin: name, description, formula. */
export async function listPlugins(): Promise<{ name: string; description: string; formula: string }[]> {
  const out = [];
  for (const n of builtinPluginNames()) {
    const { plugin } = await loadPlugin(n);
    out.push({ name: n, description: plugin.description, formula: plugin.formula ?? '' });
  }
  return out;
}
