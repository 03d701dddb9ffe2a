/** `aimc data info NAME|PATH`. */
import type { Command } from 'commander';
import { loadDataset, type Dataset, type Example } from '../data/datasets.js';
import { table } from './common.js';

/** Sizes and class balance per split. */
export function datasetInfo(d: Dataset): Record<string, unknown> {
  const split = (xs: Example[]) => {
    const o: Record<string, unknown> = { examples: xs.length, documents: new Set(xs.map((e) => e.doc)).size };
    if (d.kind === 'classification') o.classes = Object.fromEntries(d.labels.map((l, i) => [l, xs.filter((e) => e.label === i).length]));
    if (d.kind === 'regression' && xs.length) o.labelMean = xs.reduce((a, e) => a + (e.label ?? 0), 0) / xs.length;
    o.meanChars = xs.length ? Math.round(xs.reduce((a, e) => a + e.text.length + (e.textPair?.length ?? 0), 0) / xs.length) : 0;
    return o;
  };
  return { name: d.name, kind: d.kind, labels: d.labels, train: split(d.train), dev: split(d.dev), test: split(d.test) };
}

/** Register the data commands. */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('datasets');
  data
    .command('info')
    .description('split sizes and class balance of a dataset')
    .argument('<dataset>', 'spam | brown-genre | brown-text | a GLUE or E2E folder | a .jsonl/.csv file')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const info = datasetInfo(loadDataset(name)) as Record<string, Record<string, unknown>> & { name: string; kind: string; labels: string[] };
      if (opts.json) {
        console.log(JSON.stringify(info, null, 2));
        return;
      }
      console.log(`${info.name}: ${info.kind}${info.labels.length ? `, ${info.labels.length} classes` : ''}`);
      const splits = ['train', 'dev', 'test'] as const;
      const t = table(['split', 'examples', 'documents', 'mean chars']);
      for (const s of splits) t.push([s, info[s]!.examples as number, info[s]!.documents as number, info[s]!.meanChars as number]);
      console.log(t.toString());
      if (info.labels.length) {
        // One row per class keeps wide label sets (15 Brown genres) readable.
        const c = table(['class', ...splits]);
        for (const l of info.labels) c.push([l, ...splits.map((s) => ((info[s]!.classes ?? {}) as Record<string, number>)[l] ?? 0)]);
        console.log(c.toString());
      }
    });
}
