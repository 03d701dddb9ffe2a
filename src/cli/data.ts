/** `aimc data info NAME|PATH`. */
import type { Command } from 'commander';
import { loadDataset } from '../data/datasets.js';
import { datasetInfo, DATASET_LIST, SPLITS } from '../data/info.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modelsDir, shippedModels } from '../model/load.js';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.js';
import { JSON_OPTION, table } from './common.js';

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
