/**
 * Where aimc's own files are (devices/, experiments/, plugins/, models/): the root of the
 * aimc package, found by walking up from this module — src/input/ when a TS-aware runner
 * (vitest) imports the sources, dist/src/input/ after `npm run build`, and the same inside
 * node_modules/aimc/ when aimc is installed as a dependency.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder from `start` upward (start included) for which `test` holds; null at the filesystem root. */
export function findUp(start: string, test: (dir: string) => boolean): string | null {
  for (let dir = start; ;) {
    if (test(dir)) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** True when `dir` holds a package.json whose name is `name`. */
export function isPackageDir(dir: string, name: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === name;
  } catch {
    return false;
  }
}

let root: string | null = null;

/** The aimc package's root: the nearest folder above this module with a package.json named "aimc". */
export function packageRoot(): string {
  if (root === null) {
    const here = fileURLToPath(import.meta.url);
    const found = findUp(dirname(here), (d) => isPackageDir(d, 'aimc'));
    if (found === null) throw new Error(`aimc: cannot find the aimc package root (a package.json with "name": "aimc") above ${here}`);
    root = found;
  }
  return root;
}
