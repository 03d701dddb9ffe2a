/**
 * Tokenizers: Hugging Face `tokenizer.json` (+ optional `tokenizer_config.json`) through
 * @huggingface/tokenizers (pure JS, loads the files the Rust library writes, no network).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

export interface TextTokenizer {
  /** Token ids of a text (and optional pair), with the model's special tokens unless `special` is false. */
  encode(text: string, pair?: string, special?: boolean): number[];
  decode(ids: number[]): string;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
  /** The id of a token string (e.g. `</s>`), undefined when absent. */
  tokenId(token: string): number | undefined;
}

/** Load the tokenizer stored in a model directory; null when there is none. */
export function loadTokenizer(dir: string): TextTokenizer | null {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) return null;
  let json: object;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as object;
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? (JSON.parse(readFileSync(cfgFile, 'utf8')) as object) : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, cfg);
  } catch (e) {
    throw new Error(`${file}: not a tokenizer this library can load (${(e as Error).message})`);
  }
  return {
    encode: (text, pair, special = true) => tok.encode(text, { ...(pair === undefined ? {} : { text_pair: pair }), add_special_tokens: special }).ids,
    decode: (ids) => tok.decode(ids),
    vocabSize: tok.get_vocab(true).size,
    tokenId: (token) => tok.token_to_id(token) ?? undefined,
  };
}
