/**
 * Plugin discovery and loading. A plugin is a folder with `schema.json` (its config's JSON
 * Schema), `README.md` and a module (`index.js`/`index.mjs`, or `index.ts` for the built-ins
 * when running from source) whose default export is an AdapterPlugin. Built-ins live in
 * `plugins/<name>/`; any other folder is loaded from the path the user gives, so a
 * third-party plugin needs no change to aimc.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AdapterPlugin, LoadedPlugin } from './types.js';

function findUp(marker: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, marker))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`aimc: cannot find ${marker} above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** True when this module itself is TypeScript, i.e. a TS-aware runner (vitest) imports the sources. */
const FROM_SOURCE = fileURLToPath(import.meta.url).endsWith('.ts');

/** The repository root (where plugins/ and package.json are). */
const ROOT = findUp(join('plugins', 'grasp', 'schema.json'));
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
  if (!found) throw new Error(`${dir}: no plugin module (expected ${candidates.map((c) => c.slice(dir.length + 1) || c).join(' or ')}); run \`npm run build\` for the built-ins`);
  if (found.endsWith('.ts') && !FROM_SOURCE) {
    throw new Error(`${found}: Node cannot import TypeScript; compile the plugin to index.js (tsc) or write it in JavaScript`);
  }
  return found;
}

function readSchema(dir: string): Record<string, unknown> {
  const file = join(dir, 'schema.json');
  if (!existsSync(file)) throw new Error(`${dir}: not a plugin folder (no schema.json)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
}

function checkPlugin(p: unknown, file: string): AdapterPlugin {
  const problems: string[] = [];
  const o = p as Partial<AdapterPlugin> | undefined;
  if (!o || typeof o !== 'object') throw new Error(`${file}: the default export must be a plugin object { name, description, create }`);
  if (typeof o.name !== 'string' || !o.name) problems.push('name: expected a non-empty string');
  if (typeof o.description !== 'string') problems.push('description: expected a string');
  if (typeof o.create !== 'function') problems.push('create: expected a function (config, ctx) => adapter');
  if (o.training !== undefined) {
    if (!o.training || typeof o.training !== 'object' || Array.isArray(o.training)) problems.push('training: expected an object { lr?, warmup?, weightDecay? }');
    else {
      const t = o.training as Record<string, unknown>;
      for (const [k, v] of Object.entries(t)) {
        if (!['lr', 'warmup', 'weightDecay'].includes(k)) problems.push(`training.${k}: unknown setting (known: lr, warmup, weightDecay)`);
        else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (k === 'lr' && !(v > 0 && v < 10)) || (k === 'warmup' && !Number.isInteger(v)))
          problems.push(`training.${k}: expected ${k === 'lr' ? 'a number in (0, 10)' : k === 'warmup' ? 'a non-negative integer' : 'a non-negative number'}, got ${JSON.stringify(v)}`);
      }
    }
  }
  if (problems.length) throw new Error(`${file}: invalid plugin export: ${problems.join('; ')}`);
  return o as AdapterPlugin;
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
  const plugin = checkPlugin(mod.default, file);
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
