/**
 * Tokenizers: Hugging Face `tokenizer.json` (+ optional `tokenizer_config.json`) through
 * @huggingface/tokenizers (pure JS, loads the files the Rust library writes, no network).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readJsonFile } from '../input/json.js';

export interface TextTokenizer {
  /** Token ids of a text (and optional pair), with the model's special tokens unless `special` is false. */
  encode(text: string, pair?: string, special?: boolean): number[];
  decode(ids: number[]): string;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
  /** The id of a token string (e.g. `</s>`), undefined when absent. */
  tokenId(token: string): number | undefined;
  /** Ids of the special tokens (`<s>`, `<pad>`, `</s>`, `<mask>`, …). */
  readonly specialIds: ReadonlySet<number>;
  /** Bytes of text each token id stands for (0 for special tokens), for bits-per-byte figures. */
  tokenBytes(): Float64Array;
}

/** Load the tokenizer stored in a model directory; null when there is none. */
export function loadTokenizer(dir: string): TextTokenizer | null {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) return null;
  // Hugging Face files, read as the tokenizers library and Python's json read them: duplicated keys allowed (the last counts).
  const json = readJsonFile(file, { what: 'tokenizer', duplicates: 'allow' }).value as object;
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? (readJsonFile(cfgFile, { what: 'tokenizer config', duplicates: 'allow' }).value as object) : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, cfg);
  } catch (e) {
    throw new Error(`${file}: not a tokenizer this library can load (${(e as Error).message})`);
  }
  const specialIds = new Set<number>();
  const added = (json as { added_tokens?: { id: number; special?: boolean }[] }).added_tokens ?? [];
  for (const a of added) if (a.special) specialIds.add(a.id);
  const vocabSize = tok.get_vocab(true).size;
  let bytes: Float64Array | null = null;
  return {
    specialIds,
    tokenBytes: () => (bytes ??= tokenByteLengths(json, vocabSize, specialIds, (id) => tok.decode([id]))),
    encode: (text, pair, special = true) =>
      tok.encode(text, { ...(pair === undefined ? {} : { text_pair: pair }), add_special_tokens: special }).ids,
    decode: (ids) => tok.decode(ids),
    vocabSize,
    tokenId: (token) => tok.token_to_id(token) ?? undefined,
  };
}

/**
 * Bytes per token: byte-level BPE (GPT-2, RoBERTa, aimc's) maps every byte to one character
 * of the vocabulary string, so a token's byte count is its length in characters; for other
 * models the UTF-8 length of the decoded token.
 */
function tokenByteLengths(json: object, vocabSize: number, specials: ReadonlySet<number>, decode: (id: number) => string): Float64Array {
  const j = json as {
    model?: { vocab?: Record<string, number> | [string, number][] };
    decoder?: { type?: string };
    pre_tokenizer?: { type?: string };
  };
  const out = new Float64Array(vocabSize);
  const vocab = j.model?.vocab;
  const byteLevel = (j.decoder?.type === 'ByteLevel' || j.pre_tokenizer?.type === 'ByteLevel') && vocab && !Array.isArray(vocab);
  const enc = new TextEncoder();
  if (byteLevel) {
    for (const [token, id] of Object.entries(vocab as Record<string, number>)) if (id >= 0 && id < vocabSize) out[id] = [...token].length;
  } else {
    for (let id = 0; id < vocabSize; id++) out[id] = enc.encode(decode(id)).length;
  }
  for (const id of specials) if (id < vocabSize) out[id] = 0;
  return out;
}
