/**
 * The one reader of JSON files users give or edit: device profiles, plugin schemas and
 * configs, experiment specs, adapter and model folders. JSON.parse decides what is valid;
 * a strict scanner adds what JSON.parse does not say — where a syntax error is (Node 20's
 * messages often carry no position) and which keys occur twice in one object (JSON.parse
 * keeps the last silently: a copied-and-edited profile with two "drift" sections would
 * otherwise use the second without a word).
 *
 * Every problem names the file; a syntax error its line and column, a duplicate its JSON
 * pointer, line and column.
 */
import { readFileSync } from 'node:fs';

/** One problem in a JSON document: JSON pointer ('' for the whole document) and what is wrong. */
export interface JsonProblem {
  path: string;
  message: string;
}

/** A JSON file that cannot be used; one `FILE: /pointer: message` line per problem (`FILE: message` for the whole document). */
export class JsonError extends Error {
  constructor(
    readonly file: string,
    readonly problems: JsonProblem[],
  ) {
    super(problems.map((p) => (p.path ? `${file}: ${p.path}: ${p.message}` : `${file}: ${p.message}`)).join('\n'));
    this.name = 'JsonError';
  }
}

/**
 * What to do with a key that occurs twice in one object:
 * - `refuse` (default): throw a JsonError listing every duplicate;
 * - `report`: return them in `duplicates`, for a caller that lists them with its other problems;
 * - `allow`: keep the last, as JSON.parse (and Python's json module) do — for files other
 *   tools write and read that way (Hugging Face config.json, tokenizer.json).
 */
export type DuplicateKeys = 'refuse' | 'report' | 'allow';

export interface JsonOptions {
  duplicates?: DuplicateKeys;
}

/** A parsed document; `duplicates` is filled in `report` mode only. */
export interface StrictJson {
  value: unknown;
  duplicates: JsonProblem[];
}

/** The text without a leading byte-order mark (editors on Windows write one). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** 1-based line and column of an offset into a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** `line L, column C` of an offset, for messages. */
export function describeOffset(text: string, offset: number): string {
  const { line, column } = lineColumn(text, offset);
  return `line ${line}, column ${column}`;
}

/** A property name as one JSON pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export const escapePointer = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** One JSON pointer segment as the property name it stands for. */
export const unescapePointer = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');

/** The value a JSON pointer points at (undefined when there is none). */
export function valueAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[unescapePointer(raw)];
  }
  return cur;
}

/** A syntax error found by the scanner, at an offset into the text. */
class ScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

interface JsonScan {
  /** First syntax error (offset into the text and what was wrong), if any. */
  error: { offset: number; message: string } | null;
  /** Keys that occur twice in one object: `path` is the object's pointer, `offset` the second key's. */
  duplicates: { path: string; key: string; offset: number }[];
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Scan a JSON text for the first syntax error and for duplicated keys (RFC 8259 grammar). */
function scanJson(text: string): JsonScan {
  const duplicates: JsonScan['duplicates'] = [];
  let i = 0;
  const got = () => (i >= text.length ? 'end of input' : `'${text[i]}'`);
  const fail = (message: string, at = i): never => {
    throw new ScanError(message, at);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): string => {
    const start = i++;
    let escaped = false;
    while (i < text.length && text[i] !== '"') {
      const ch = text.charCodeAt(i);
      if (ch < 0x20) fail('unescaped control character (a line break?) inside a string');
      if (text[i] === '\\') {
        escaped = true;
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape in a string');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail(`bad escape '\\${text[i] ?? ''}' in a string`);
      }
      i++;
    }
    if (i >= text.length) fail('unterminated string', start);
    i++;
    return escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
  };
  /** After an item of an object or array: true at ',' (another follows), false past `close`. */
  const more = (close: '}' | ']', what: string): boolean => {
    ws();
    if (text[i] === ',') {
      const comma = i++;
      ws();
      if (text[i] === close) fail(`trailing comma before '${close}'`, comma);
      return true;
    }
    if (text[i] === close) {
      i++;
      return false;
    }
    return fail(`expected ',' or '${close}' after ${what}, got ${got()}`);
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === "'") fail('property names need double quotes, not single quotes');
        if (text[i] !== '"') fail(`expected a property name in double quotes, got ${got()}`);
        const at = i;
        const key = string();
        if (keys.has(key)) duplicates.push({ path, key, offset: at });
        keys.add(key);
        ws();
        if (text[i] !== ':') fail(`expected ':' after property name '${key}', got ${got()}`);
        i++;
        value(`${path}/${escapePointer(key)}`);
        if (!more('}', 'a property value')) return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}/${n}`);
        if (!more(']', 'an array item')) return;
      }
    }
    if (c === '"') {
      string();
      return;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(text);
    if (num) {
      i += num[0].length;
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c === "'") fail('strings need double quotes, not single quotes');
    if (c === undefined)
      fail(path === '' && text.trim() === '' ? 'the file is empty' : 'unexpected end of input (a missing closing bracket?)');
    fail(`expected a value (number, string, true, false, null, object or array), got ${got()}`);
  };
  try {
    value('');
    ws();
    if (i < text.length) fail(`unexpected ${got()} after the end of the document`);
    return { error: null, duplicates };
  } catch (e) {
    // Anything but a ScanError (a document nested deeper than the stack) leaves the position to JSON.parse.
    return { error: e instanceof ScanError ? { offset: e.offset, message: e.message } : null, duplicates };
  }
}

/**
 * Parse a JSON text strictly; `file` names it in messages. A syntax error throws a JsonError
 * `FILE: invalid JSON at line L, column C: what was wrong`; duplicated keys are refused,
 * reported or allowed as `o.duplicates` says (see DuplicateKeys). A leading byte-order mark
 * is ignored.
 */
export function parseStrictJson(text: string, file: string, o: JsonOptions = {}): StrictJson {
  const mode = o.duplicates ?? 'refuse';
  const src = stripBom(text);
  let value: unknown;
  try {
    value = JSON.parse(src);
  } catch (e) {
    const scan = scanJson(src);
    const where = scan.error ? ` at ${describeOffset(src, scan.error.offset)}: ${scan.error.message}` : `: ${(e as Error).message}`;
    throw new JsonError(file, [{ path: '', message: `invalid JSON${where}` }]);
  }
  if (mode === 'allow') return { value, duplicates: [] };
  const duplicates = scanJson(src).duplicates.map((d) => ({
    path: `${d.path}/${escapePointer(d.key)}`,
    message: `duplicate property '${d.key}' (${describeOffset(src, d.offset)}); only the last one would count`,
  }));
  if (mode === 'refuse' && duplicates.length) throw new JsonError(file, duplicates);
  return { value, duplicates: mode === 'report' ? duplicates : [] };
}

/** A file's text; an unreadable file throws `FILE: cannot read WHAT (CODE: reason)`. */
export function readTextFile(file: string, what = 'file'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : err.message;
    throw new Error(`${file}: cannot read ${what} (${reason})`);
  }
}

/** Read and parse a JSON file strictly (see parseStrictJson); `what` names it if it cannot be read. */
export function readJsonFile(file: string, o: JsonOptions & { what?: string } = {}): StrictJson {
  return parseStrictJson(readTextFile(file, o.what ?? 'JSON file'), file, o);
}
