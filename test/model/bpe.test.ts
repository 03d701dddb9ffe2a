import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainByteLevelBpe, bytesToUnicode, withTemplate } from '../../src/model/bpe-train.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { brownTextDataset } from '../../src/data/datasets.js';

describe('byte-level BPE training', () => {
  const corpus = brownTextDataset().train.slice(0, 400).map((e) => e.text);
  const json = trainByteLevelBpe(corpus, { vocabSize: 800, template: 'roberta' });
  const dir = mkdtempSync(join(tmpdir(), 'aimc-bpe-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  const tok = loadTokenizer(dir)!;

  it('the byte table is a bijection onto printable characters', () => {
    const t = bytesToUnicode();
    expect(new Set(t).size).toBe(256);
    expect(t.every((c) => !/\s/.test(c))).toBe(true);
  });

  it('loads through @huggingface/tokenizers with the requested vocabulary', () => {
    expect(tok.vocabSize).toBe(800);
  });

  it('round-trips any text, including unseen words and non-ASCII', () => {
    for (const s of ['The jury said it was fine.', 'Zyxwv qwerty!!', 'naïve café — 42 µS, 10 år', '  two  spaces ']) {
      const ids = tok.encode(s);
      expect(ids[0]).toBe(0); // <s>
      expect(ids[ids.length - 1]).toBe(2); // </s>
      expect(tok.decode(ids.slice(1, -1))).toBe(s);
    }
  });

  it('learns merges: frequent words are single tokens, text is shorter than its bytes', () => {
    expect(tok.encode(' the').length).toBe(3); // <s> Ġthe </s>: the word as it occurs mid-sentence
    const s = corpus[0]!;
    expect(tok.encode(s).length).toBeLessThan(new TextEncoder().encode(s).length / 2);
  });

  it('pairs follow RoBERTa: <s> A </s></s> B </s>', () => {
    const ids = tok.encode('one', 'two');
    expect(ids.filter((i) => i === 2)).toHaveLength(3);
    expect(ids[0]).toBe(0);
  });

  it('withTemplate swaps the post-processor and keeps the vocabulary (a warm start across architectures)', () => {
    const plain = withTemplate(json, 'none');
    const d2 = mkdtempSync(join(tmpdir(), 'aimc-bpe-'));
    writeFileSync(join(d2, 'tokenizer.json'), JSON.stringify(plain));
    const t2 = loadTokenizer(d2)!;
    const ids = t2.encode('The jury said it was fine.');
    // The same ids, without RoBERTa's <s> … </s> around them.
    expect(ids).toEqual(tok.encode('The jury said it was fine.').slice(1, -1));
    expect(JSON.stringify(withTemplate(plain, 'roberta'))).toBe(JSON.stringify(json));
  });

  it('is deterministic', () => {
    expect(JSON.stringify(trainByteLevelBpe(corpus.slice(0, 50), { vocabSize: 400 }))).toBe(JSON.stringify(trainByteLevelBpe(corpus.slice(0, 50), { vocabSize: 400 })));
  });
});
