/**
 * Byte-level BPE training (the GPT-2 / RoBERTa scheme), writing a `tokenizer.json` that the
 * Hugging Face tokenizer libraries load — so aimc's shipped models use a real subword
 * tokenizer through the same interface as imported ones. @huggingface/tokenizers (JS) can
 * load tokenizers but not train them, hence this trainer.
 *
 * Algorithm (Sennrich et al. 2016, byte-level as Radford et al. 2019): split text with
 * GPT-2's pre-tokenization pattern, map bytes to printable characters, count words, then
 * repeatedly merge the most frequent adjacent pair (ties broken by the pair's text, so the
 * result is deterministic), updating pair counts incrementally.
 */

/** GPT-2's pre-tokenization pattern. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible byte → printable character table. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i]!)));
  return table;
}

export interface BpeOptions {
  /** Total vocabulary including the 256 byte symbols and the special tokens. */
  vocabSize: number;
  /** Special tokens, given the first ids in order. */
  specials?: string[];
  /** Pairs seen fewer times are not merged. */
  minFrequency?: number;
  /** Post-processor: RoBERTa's `<s> A </s></s> B </s>` or none (GPT-2). */
  template?: 'roberta' | 'none';
}

/** Train byte-level BPE on texts; returns the tokenizer.json object. */
export function trainByteLevelBpe(texts: Iterable<string>, o: BpeOptions): Record<string, unknown> {
  const specials = o.specials ?? ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
  const minFreq = o.minFrequency ?? 2;
  const byteChar = bytesToUnicode();
  const enc = new TextEncoder();
  // Word frequencies over byte-mapped pre-tokens.
  const freq = new Map<string, number>();
  for (const text of texts) {
    for (const m of text.matchAll(GPT2_PATTERN)) {
      const w = Array.from(enc.encode(m[0]), (b) => byteChar[b]!).join('');
      freq.set(w, (freq.get(w) ?? 0) + 1);
    }
  }
  const words = [...freq.keys()].sort();
  const counts = words.map((w) => freq.get(w)!);
  const syms: string[][] = words.map((w) => Array.from(w));
  // Pair statistics with the words each pair occurs in.
  const pairCount = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const key = (a: string, b: string) => `${a}\u0000${b}`;
  const addWord = (i: number, sign: 1 | -1) => {
    const s = syms[i]!;
    for (let j = 0; j + 1 < s.length; j++) {
      const k = key(s[j]!, s[j + 1]!);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[i]!);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(i);
      }
    }
  };
  syms.forEach((_, i) => addWord(i, 1));

  const vocab = new Map<string, number>();
  for (const s of specials) vocab.set(s, vocab.size);
  for (const c of [...byteChar].sort()) vocab.set(c, vocab.size);
  const merges: [string, string][] = [];
  while (vocab.size < o.vocabSize) {
    let best: string | null = null;
    let bestN = 0;
    for (const [k, n] of pairCount) {
      if (n > bestN || (n === bestN && best !== null && n > 0 && k < best)) {
        best = k;
        bestN = n;
      }
    }
    if (!best || bestN < minFreq) break;
    const [a, b] = best.split('\u0000') as [string, string];
    const merged = a + b;
    merges.push([a, b]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const i of [...(pairWords.get(best) ?? [])]) {
      const s = syms[i]!;
      let has = false;
      for (let j = 0; j + 1 < s.length; j++) if (s[j] === a && s[j + 1] === b) has = true;
      if (!has) continue;
      addWord(i, -1);
      const out: string[] = [];
      for (let j = 0; j < s.length; j++) {
        if (j + 1 < s.length && s[j] === a && s[j + 1] === b) {
          out.push(merged);
          j++;
        } else out.push(s[j]!);
      }
      syms[i] = out;
      addWord(i, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }

  const added = specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: content === '<mask>',
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: postProcessor(o.template ?? 'none', (t) => vocab.get(t)!),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** The post-processor of a template: RoBERTa's `<s> A </s></s> B </s>`, or none (GPT-2). */
function postProcessor(template: 'roberta' | 'none', id: (token: string) => number): Record<string, unknown> | null {
  if (template === 'none') return null;
  return { type: 'RobertaProcessing', sep: ['</s>', id('</s>')], cls: ['<s>', id('<s>')], trim_offsets: true, add_prefix_space: false };
}

/** A tokenizer.json written by trainByteLevelBpe with its post-processor set for `template` (same vocabulary). */
export function withTemplate(json: Record<string, unknown>, template: 'roberta' | 'none'): Record<string, unknown> {
  const added = (json.added_tokens ?? []) as { id: number; content: string }[];
  const id = (t: string) => {
    const a = added.find((x) => x.content === t);
    if (!a) throw new Error(`tokenizer has no '${t}' token (needed by the ${template} template)`);
    return a.id;
  };
  return { ...json, post_processor: postProcessor(template, id) };
}
