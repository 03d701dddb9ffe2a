import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  brownGenreDataset,
  brownTextDataset,
  checkTrainable,
  detagBrown,
  loadDataset,
  mixedHash,
  sampleExamples,
  spamDataset,
  type Dataset,
} from '../../src/data/datasets.js';

const docs = (d: Dataset, s: 'train' | 'dev' | 'test') => new Set(d[s].map((e) => e.doc));

function expectDisjoint(d: Dataset) {
  const [a, b, c] = [docs(d, 'train'), docs(d, 'dev'), docs(d, 'test')];
  for (const x of a) expect(b.has(x) || c.has(x)).toBe(false);
  for (const x of b) expect(c.has(x)).toBe(false);
}

describe('spam (SpamAssassin)', () => {
  it('has both classes, no headers, disjoint and stable splits', () => {
    const d = spamDataset();
    const all = [...d.train, ...d.dev, ...d.test];
    expect(all).toHaveLength(6046);
    const spam = all.filter((e) => e.label === 1).length;
    expect(spam).toBeGreaterThan(1000);
    expect(all.length - spam).toBeGreaterThan(3000);
    // Headers stripped: no body starts with a Received:/Return-Path: header line.
    expect(all.filter((e) => /^(Return-Path|Received|From [^\s]+@)/.test(e.text)).length).toBeLessThan(all.length * 0.01);
    expectDisjoint(d);
    expect(d.train.length / all.length).toBeGreaterThan(0.75);
    const again = spamDataset();
    expect(again.test.map((e) => e.doc)).toEqual(d.test.map((e) => e.doc));
  });
});

describe('Brown corpus', () => {
  it('strips POS tags and detokenizes punctuation', () => {
    expect(detagBrown("\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, today/nr ./.")).toBe(
      'The jury said "no evidence", today.',
    );
  });

  it('brown-genre: 15 genres, every split has several, documents never cross splits', () => {
    const d = brownGenreDataset();
    expect(d.labels).toHaveLength(15);
    expectDisjoint(d);
    for (const s of ['train', 'dev', 'test'] as const) expect(new Set(d[s].map((e) => e.label)).size, s).toBe(15);
    expect(d.test.length).toBeGreaterThan(100);
    expect(d.train[0]!.text).not.toMatch(/\/at\b|\/nn\b/);
  });

  it('brown-text: the same documents in the same splits', () => {
    const g = brownGenreDataset();
    const t = brownTextDataset();
    expect(docs(t, 'test')).toEqual(docs(g, 'test'));
    expect(t.kind).toBe('lm');
  });
});

describe('GLUE TSV folders', () => {
  const root = mkdtempSync(join(tmpdir(), 'aimc-glue-'));
  const write = (task: string, files: Record<string, string>) => {
    const dir = join(root, task);
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  };

  it('single-sentence task (SST-2)', () => {
    const dir = write('SST-2', {
      'train.tsv': 'sentence\tlabel\na gripping film \t1\ndull and long \t0\n',
      'dev.tsv': 'sentence\tlabel\nlovely\t1\nawful\t0\nfine\t1\nbad\t0\n',
    });
    const d = loadDataset(dir);
    expect(d.name).toBe('sst-2');
    expect(d.train).toEqual([
      { text: 'a gripping film ', label: 1, doc: 'train.tsv:0' },
      { text: 'dull and long ', label: 0, doc: 'train.tsv:1' },
    ]);
    expect(d.dev.length + d.test.length).toBe(4);
  });

  it('pair task (RTE) and regression (STS-B)', () => {
    const rte = loadDataset(
      write('RTE', {
        'train.tsv':
          'index\tsentence1\tsentence2\tlabel\n0\tA man sleeps.\tA person rests.\tentailment\n1\tIt rains.\tIt is dry.\tnot_entailment\n',
        'dev.tsv': 'index\tsentence1\tsentence2\tlabel\n0\tx\ty\tentailment\n',
      }),
    );
    expect(rte.train[1]).toEqual({ text: 'It rains.', textPair: 'It is dry.', label: 1, doc: 'train.tsv:1' });
    const sts = loadDataset(
      write('STS-B', {
        'train.tsv':
          'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tmain\tx\t2012\t1\tnone\tnone\tA plane takes off.\tAn air plane is taking off.\t5.000\n',
        'dev.tsv': 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n',
      }),
    );
    expect(sts.kind).toBe('regression');
    expect(sts.train[0]).toMatchObject({ text: 'A plane takes off.', textPair: 'An air plane is taking off.', label: 5 });
  });

  it('bad rows are named with file and line', () => {
    const dir = write('QNLI', {
      'train.tsv': 'index\tquestion\tsentence\tlabel\n0\tq\ts\tmaybe\n',
      'dev.tsv': 'index\tquestion\tsentence\tlabel\n',
    });
    expect(() => loadDataset(dir)).toThrow(/QNLI\/train.tsv:2: label 'maybe' is not one of entailment, not_entailment/);
  });
});

describe('user files and E2E', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aimc-user-'));
  it('JSONL with string classes and CSV with a text pair', () => {
    const j = join(dir, 'reviews.jsonl');
    writeFileSync(
      j,
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `review ${i}`, label: i % 2 ? 'pos' : 'neg' })).join('\n'),
    );
    const d = loadDataset(j);
    expect(d.labels).toEqual(['neg', 'pos']);
    expect(d.train.length + d.dev.length + d.test.length).toBe(40);
    const c = join(dir, 'pairs.csv');
    writeFileSync(c, 'text,text_pair,label\n"a, quoted",b,1\nc,d,0\n');
    expect(
      loadDataset(c)
        .train.concat(loadDataset(c).dev, loadDataset(c).test)
        .find((e) => e.text === 'a, quoted'),
    ).toMatchObject({ textPair: 'b' });
  });

  it('rejects examples without text or label, naming the file', () => {
    const j = join(dir, 'bad.jsonl');
    writeFileSync(j, '{"text": "x"}\n');
    expect(() => loadDataset(j)).toThrow(/bad.jsonl:1: missing 'label'/);
  });

  it('E2E folder: references grouped by meaning representation', () => {
    const e = join(dir, 'e2e');
    mkdirSync(e);
    const csv =
      'mr,ref\n"name[Aromi], food[Chinese]","Aromi serves Chinese food."\n"name[Aromi], food[Chinese]","Chinese food is served at Aromi."\n"name[Bibimbap]","Bibimbap is a restaurant."\n';
    for (const f of ['trainset.csv', 'devset.csv', 'testset.csv']) writeFileSync(join(e, f), csv);
    const d = loadDataset(e);
    expect(d.kind).toBe('generation');
    expect(d.train[0]).toEqual({
      text: 'name[Aromi], food[Chinese]',
      refs: ['Aromi serves Chinese food.', 'Chinese food is served at Aromi.'],
      doc: 'name[Aromi], food[Chinese]',
    });
  });
});

describe('sampleExamples', () => {
  it('a fixed subset spread over the split: deterministic, both classes where a prefix has one', () => {
    const test = spamDataset().test;
    // The split lists all ham before all spam: a prefix would be one class.
    expect(new Set(test.slice(0, 100).map((e) => e.label)).size).toBe(1);
    const s = sampleExamples(test, 100);
    expect(s).toHaveLength(100);
    expect(sampleExamples(test, 100)).toEqual(s);
    const spam = s.filter((e) => e.label === 1).length / s.length;
    const all = test.filter((e) => e.label === 1).length / test.length;
    // Binomial std of a 100-sample fraction is ≤ 0.05: 4σ.
    expect(Math.abs(spam - all)).toBeLessThan(0.2);
    expect(s.every((e) => test.includes(e))).toBe(true);
    expect(sampleExamples(test, test.length + 5)).toBe(test);
  });
});

import { passagesOf, TEXT_SOURCES } from '../../src/data/corpora.js';
import {
  englishTextDataset,
  textSourceDataset,
  brownTextDataset as brownText,
  brownGenreDataset as brownGenre,
} from '../../src/data/datasets.js';
import { datasetInfo } from '../../src/data/info.js';

describe('pretraining text sources', () => {
  it('passagesOf cuts at sentence ends into ~N-word passages and keeps every word', () => {
    const text = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} has exactly seven words.`).join('  ');
    const ps = passagesOf(text, 20);
    expect(ps.join(' ').split(' ')).toEqual(text.replace(/\s+/g, ' ').split(' '));
    for (const p of ps.slice(0, -1)) {
      expect(p.endsWith('.')).toBe(true);
      expect(p.split(' ').length).toBeGreaterThanOrEqual(20);
      expect(p.split(' ').length).toBeLessThan(28);
    }
  });

  for (const src of TEXT_SOURCES) {
    it(`${src.name}: real English running text in three non-empty splits, split by document`, () => {
      const d = textSourceDataset(src.name);
      expect(d.kind).toBe('lm');
      const words = (xs: { text: string }[]) => xs.reduce((a, e) => a + e.text.split(/\s+/).length, 0);
      for (const s of ['train', 'dev', 'test'] as const) expect(d[s].length, s).toBeGreaterThan(10);
      expect(words(d.train)).toBeGreaterThan(100_000);
      // About 10 % of the documents in each of dev and test.
      const docs = (xs: { doc: string }[]) => new Set(xs.map((e) => e.doc));
      const [tr, dv, te] = [docs(d.train), docs(d.dev), docs(d.test)];
      const n = tr.size + dv.size + te.size;
      expect(Math.abs(dv.size - 0.1 * n)).toBeLessThanOrEqual(1);
      expect(Math.abs(te.size - 0.1 * n)).toBeLessThanOrEqual(1);
      for (const x of dv) expect(tr.has(x) || te.has(x)).toBe(false);
      for (const x of te) expect(tr.has(x)).toBe(false);
      // Common English words make up a good share of the text (not a word list or markup).
      const sample = d.train
        .slice(0, 50)
        .map((e) => e.text)
        .join(' ')
        .toLowerCase()
        .split(/\W+/);
      const common = sample.filter((w) => ['the', 'of', 'and', 'to', 'a', 'in', 'that', 'is'].includes(w)).length;
      expect(common / sample.length).toBeGreaterThan(0.08);
      expect(d.train.every((e) => e.source === src.name)).toBe(true);
    });
  }

  it('english-text: every source, and no dev or test document of brown-text / brown-genre in its train split', () => {
    const d = englishTextDataset();
    expect(new Set(d.train.map((e) => e.source))).toEqual(new Set(['brown-text', ...TEXT_SOURCES.map((s) => s.name)]));
    const train = new Set(d.train.map((e) => e.doc));
    const held = [...brownText().dev, ...brownText().test, ...brownGenre().dev, ...brownGenre().test];
    expect(held.length).toBeGreaterThan(100);
    for (const e of held) expect(train.has(e.doc)).toBe(false);
    // brown-text dev (the yardstick) is the union's brown dev, unchanged.
    expect(d.dev.filter((e) => e.source === 'brown-text').map((e) => e.text)).toEqual(brownText().dev.map((e) => e.text));
  });

  it('data info reports words per source and split (tokens when a tokenizer is given)', () => {
    const d = englishTextDataset();
    const info = datasetInfo(d) as { sources: Record<string, Record<string, { words: number }>>; train: { words: number } };
    const names = Object.keys(info.sources);
    expect(names).toHaveLength(1 + TEXT_SOURCES.length);
    expect(names.reduce((a, n) => a + info.sources[n]!.train!.words, 0)).toBe(info.train.words);
    expect(info.train.words).toBeGreaterThan(4_000_000);
  });
});

describe('user datasets: small files, hostile rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aimc-user2-'));
  const put = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const csvRows = (n: number, classes: string[]) =>
    'text,label\n' + Array.from({ length: n }, (_, i) => `message number ${i},${classes[i % classes.length]}`).join('\n') + '\n';

  for (const [n, classes] of [
    [100, ['a', 'b']],
    [60, ['x', 'y', 'z']],
    [64, ['neg', 'pos']],
    [300, ['1', '2', '3', '4']],
  ] as const) {
    it(`${n} rows without ids, ${classes.length} classes: every split non-empty and holds every class`, () => {
      const d = loadDataset(put(`small-${n}-${classes.length}.csv`, csvRows(n, [...classes])));
      for (const s of ['train', 'dev', 'test'] as const) {
        expect(d[s].length, s).toBeGreaterThan(0);
        expect(new Set(d[s].map((e) => e.label)).size, s).toBe(classes.length);
      }
      expect(d.train.length + d.dev.length + d.test.length).toBe(n);
      expect(d.dev.length).toBeGreaterThanOrEqual(Math.floor(0.08 * n));
      expect(d.test.length).toBeGreaterThanOrEqual(Math.floor(0.08 * n));
    });
  }

  it('the split does not depend on the order of the rows', () => {
    const rows = Array.from({ length: 90 }, (_, i) => JSON.stringify({ text: `row ${i} text`, label: i % 3 ? 'p' : 'n' }));
    const a = loadDataset(put('order-a.jsonl', rows.join('\n')));
    const b = loadDataset(put('order-b.jsonl', [...rows].reverse().join('\n')));
    const set = (xs: { text: string }[]) => new Set(xs.map((e) => e.text));
    for (const s of ['train', 'dev', 'test'] as const) expect(set(b[s])).toEqual(set(a[s]));
  });

  for (const [what, text, message] of [
    ['a null line', '{"text":"a","label":"x"}\nnull\n', /:2: expected an object .* got null/],
    ['an array line', '{"text":"a","label":"x"}\n[1,2]\n', /:2: expected an object .* got an array/],
    ['a number line', '7\n', /:1: expected an object .* got number/],
    ['a null label', '{"text":"a","label":null}\n', /:1: 'label' must be a class name \(string\), an integer or a finite number, got null/],
    ['an object label', '{"text":"a","label":{"x":1}}\n', /:1: 'label' must be .* got \{"x":1\}/],
    ['a boolean label', '{"text":"a","label":true}\n', /:1: 'label' must be .* got true/],
    ['a blank label', '{"text":"a","label":"  "}\n', /:1: 'label' must be/],
    ['an empty text', '{"text":"   ","label":"x"}\n', /:1: 'text' must be a non-empty string/],
    ['a numeric text', '{"text":5,"label":"x"}\n', /:1: 'text' must be a non-empty string, got 5/],
    ['a bad id', '{"text":"a","label":"x","id":[1]}\n', /:1: 'id' must be a string or a number/],
    ['broken JSON on line 3', '{"text":"a","label":"x"}\n\n{"text":\n', /:3: invalid JSON/],
  ] as const) {
    it(`JSONL with ${what} is refused with the line number`, () => {
      expect(() => loadDataset(put(`bad-${what.replace(/\W+/g, '-')}.jsonl`, text))).toThrow(message);
    });
  }

  it('CSV rows are named by their line, quoted multi-line fields included', () => {
    expect(() => loadDataset(put('bad.csv', 'text,label\n"one\ntwo",a\n,b\n'))).toThrow(/bad\.csv:4: 'text' must be a non-empty string/);
  });

  for (const ext of ['jsonl', 'csv']) {
    it(`a UTF-8 byte-order mark at the start of a ${ext} file is accepted`, () => {
      const body =
        ext === 'jsonl'
          ? Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 2 ? 'a' : 'b' })).join('\n')
          : csvRows(40, ['a', 'b']);
      const d = loadDataset(put(`bom.${ext}`, '\uFEFF' + body));
      expect(d.labels).toEqual(['a', 'b']);
      expect(d.train.length + d.dev.length + d.test.length).toBe(40);
    });
  }

  it('one class, or splits too small, are refused before training with the counts', () => {
    expect(() => checkTrainable(loadDataset(put('one-class.csv', csvRows(60, ['only']))))).toThrow(
      /at least two classes in the train split \(found only: \d+\)/,
    );
    expect(() => checkTrainable(loadDataset(put('two-rows.csv', csvRows(2, ['a', 'b']))))).toThrow(
      /the (dev|test) split is empty \(train 2, dev 0, test 0\)/,
    );
    const empty = { name: 'e', kind: 'classification' as const, labels: ['a', 'b'], train: [], dev: [], test: [] };
    expect(() => checkTrainable(empty)).toThrow(/e: the train split is empty \(train 0, dev 0, test 0\)/);
    expect(() => checkTrainable(loadDataset(put('ok.csv', csvRows(60, ['a', 'b']))))).not.toThrow();
  });

  it('mixedHash spreads consecutive ids over [0, 1)', () => {
    const hs = Array.from({ length: 1000 }, (_, i) => mixedHash(`f.csv:${i}`));
    // Each decile holds about 100 of 1000 (binomial sd ≈ 9.5; 5 sd bounds).
    for (let k = 0; k < 10; k++) {
      const c = hs.filter((h) => h >= k / 10 && h < (k + 1) / 10).length;
      expect(c).toBeGreaterThan(100 - 48);
      expect(c).toBeLessThan(100 + 48);
    }
  });
});

describe('aimc data list', () => {
  it('describes every built-in dataset, in the order loadDataset knows them', async () => {
    const { DATASET_LIST } = await import('../../src/data/info.js');
    const { BUILTIN_DATASETS } = await import('../../src/data/datasets.js');
    expect(DATASET_LIST.map((d) => d.name)).toEqual([...BUILTIN_DATASETS]);
    // english-text is every text source again: its kind is checked with the corpus tests.
    for (const d of DATASET_LIST.filter((x) => x.name !== 'english-text')) expect(loadDataset(d.name).kind, d.name).toBe(d.kind);
  });
});
