/**
 * results.jsonl: one JSON object per line, appended as work finishes. A line is written with a
 * single append of the complete text, so a crash can at worst leave one partial last line;
 * opening the store cuts it off. Every line has a key; the runner skips work whose keys exist,
 * so a restarted run neither repeats nor loses a line.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type ResultLine = { kind: string; key: string } & Record<string, unknown>;

export class ResultStore {
  private readonly keys = new Set<string>();
  readonly lines: ResultLine[] = [];

  private constructor(readonly file: string) {}

  /** Open (creating folders), dropping a partial last line left by a crash. */
  static open(file: string): ResultStore {
    mkdirSync(dirname(file), { recursive: true });
    const store = new ResultStore(file);
    if (!existsSync(file)) return store;
    const text = readFileSync(file, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < text.length) truncateSync(file, Buffer.byteLength(text.slice(0, complete)));
    for (const [i, l] of text.slice(0, complete).split('\n').entries()) {
      if (!l.trim()) continue;
      let line: ResultLine;
      try {
        line = JSON.parse(l) as ResultLine;
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message}); the file was edited by hand?`);
      }
      store.keys.add(line.key);
      store.lines.push(line);
    }
    return store;
  }

  /** Replace the file with exactly `keep` (in their order), atomically: written beside, then renamed over. */
  rewrite(keep: ResultLine[]): ResultStore {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, keep.map((l) => JSON.stringify(l) + '\n').join(''));
    renameSync(tmp, this.file);
    return ResultStore.open(this.file);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Append lines whose keys are new (one write for all of them). */
  append(lines: ResultLine[]): void {
    const fresh = lines.filter((l) => !this.keys.has(l.key));
    if (!fresh.length) return;
    appendFileSync(this.file, fresh.map((l) => JSON.stringify(l)).join('\n') + '\n');
    for (const l of fresh) {
      this.keys.add(l.key);
      this.lines.push(l);
    }
  }
}

/** Read a results file (for the report); a partial last line is ignored. */
export function readResults(file: string): ResultLine[] {
  if (!existsSync(file)) throw new Error(`${file}: no results (run the experiment first)`);
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as ResultLine;
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
      }
    });
}
