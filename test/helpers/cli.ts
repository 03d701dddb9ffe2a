/** Run the aimc CLI in-process, capturing what it prints. */
import { vi } from 'vitest';
import { runCli } from '../../src/cli/program.js';

/** Run `aimc ...args`; returns the exit code and the captured stdout and stderr. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await runCli(['node', 'aimc', ...args]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** A word-level tokenizer.json (the Rust library's format): <s> <pad> </s> <unk>, then `words` from id 4. */
export function wordLevelTokenizer(words: string[]): object {
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries([...specials, ...words].map((w, i) => [w, i])), unk_token: '<unk>' },
  };
}
