/**
 * The layering of docs/architecture.md, checked on the import graph of src/ (every relative
 * import and re-export, as TypeScript's own pre-processor reads them; type-only imports count
 * too — a cycle of types is still a cycle of meaning).
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** module (path relative to src/) → the src/ modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = info.importedFiles
      .map((f) => f.fileName)
      .filter((f) => f.startsWith('.'))
      .map((f) => relative(SRC, resolve(dirname(file), f.replace(/\.js$/, '.ts'))));
    graph.set(relative(SRC, file), deps.filter((d) => !d.startsWith('..')));
  }
  return graph;
}

/** Strongly connected components with more than one module (or a self-import): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const folder = (m: string) => m.split('/')[0]!;

describe('import graph of src/', () => {
  const graph = importGraph();

  it('has no cycle between modules', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles(graph)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const folders = new Map<string, string[]>();
    for (const [m, deps] of graph) {
      const f = folder(m);
      const set = new Set(folders.get(f) ?? []);
      for (const d of deps) if (folder(d) !== f) set.add(folder(d));
      folders.set(f, [...set]);
    }
    expect(cycles(folders)).toEqual([]);
  });

  it('only the kernels reach the native engine (addon, wasm heap)', () => {
    const offenders = [...graph].filter(([m, deps]) => !m.startsWith('tensor/kernels/') && deps.includes('tensor/kernels/engine.ts'));
    expect(offenders.map(([m]) => m)).toEqual([]);
  });

  it('keeps the layers: device knows no model or crossbar, model no device, deploy no train', () => {
    const forbidden: Record<string, string[]> = {
      tensor: ['device', 'crossbar', 'model', 'peft', 'train', 'deploy', 'experiment', 'report', 'cli', 'task'],
      device: ['crossbar', 'model', 'peft', 'train', 'deploy', 'experiment', 'report', 'cli', 'task'],
      crossbar: ['model', 'peft', 'train', 'deploy', 'experiment', 'report', 'cli', 'task'],
      model: ['device', 'crossbar', 'peft', 'train', 'deploy', 'experiment', 'report', 'cli'],
      deploy: ['train', 'experiment', 'report', 'cli'],
      // The report reads the experiment's results store, nothing that runs.
      report: ['deploy', 'train', 'cli'],
      // The experiment runner knows executors, not queues: the queue plugs in from the CLI.
      experiment: ['queue', 'cli', 'report'],
      queue: ['cli', 'report'],
    };
    const bad: string[] = [];
    for (const [m, deps] of graph) {
      for (const d of deps) if (forbidden[folder(m)]?.includes(folder(d))) bad.push(`${m} → ${d}`);
    }
    expect(bad).toEqual([]);
  });
});
