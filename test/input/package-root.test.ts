/** The one finder of aimc's own folder: from the sources (vitest) and from a build's dist/src/. */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { findUp, isPackageDir, packageRoot } from '../../src/input/package-root.js';

describe('packageRoot', () => {
  it('is the folder with aimc\'s package.json, devices/, experiments/, plugins/ and models/', () => {
    const root = packageRoot();
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string }).name).toBe('aimc');
    for (const d of ['devices', 'experiments', 'plugins', 'models', 'src']) expect(existsSync(join(root, d)), d).toBe(true);
    expect(packageRoot()).toBe(root);
  });

  it('is found from a build under dist/src/input/, past package.json files of other names', async () => {
    const pkg = mkdtempSync(join(tmpdir(), 'aimc-root-'));
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'aimc' }));
    const out = join(pkg, 'dist', 'src', 'input');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(pkg, 'dist', 'package.json'), JSON.stringify({ name: 'something-else' }));
    const source = readFileSync(new URL('../../src/input/package-root.ts', import.meta.url), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(out, 'package-root.js'), js);
    writeFileSync(join(pkg, 'dist', 'src', 'package.json'), JSON.stringify({ type: 'module' }));
    const built = (await import(pathToFileURL(join(out, 'package-root.js')).href)) as typeof import('../../src/input/package-root.js');
    expect(built.packageRoot()).toBe(pkg);
  });
});

describe('findUp', () => {
  it('returns the nearest folder (the start included) for which the test holds, null at the filesystem root', () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-up-'));
    const deep = join(d, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(d, 'marker'), '');
    expect(findUp(deep, (x) => existsSync(join(x, 'marker')))).toBe(d);
    expect(findUp(d, (x) => existsSync(join(x, 'marker')))).toBe(d);
    expect(findUp(deep, () => false)).toBeNull();
    const seen: string[] = [];
    findUp(deep, (x) => (seen.push(x), false));
    expect(seen.at(-1)).toBe(parse(deep).root);
    expect(seen[1]).toBe(dirname(deep));
  });

  it('isPackageDir reads the name, tolerating a broken package.json', () => {
    const d = mkdtempSync(join(tmpdir(), 'aimc-pkg-'));
    expect(isPackageDir(d, 'aimc')).toBe(false);
    writeFileSync(join(d, 'package.json'), '{');
    expect(isPackageDir(d, 'aimc')).toBe(false);
    writeFileSync(join(d, 'package.json'), '{"name": "aimc"}');
    expect(isPackageDir(d, 'aimc')).toBe(true);
  });
});
