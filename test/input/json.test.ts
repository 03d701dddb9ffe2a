/** The one strict JSON reader: syntax errors with line and column, duplicated keys refused, reported or allowed. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOffset, escapePointer, JsonError, parseStrictJson, readJsonFile, stripBom, unescapePointer, valueAt } from '../../src/input/json.js';

/** The JsonError a text raises. */
function refused(text: string, o: Parameters<typeof parseStrictJson>[2] = {}): JsonError {
  try {
    parseStrictJson(text, 'f.json', o);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonError);
    return e as JsonError;
  }
  throw new Error('accepted');
}

describe('syntax errors', () => {
  for (const [text, message] of [
    ['{\n  "a": 1,\n  b: 2\n}', /^f\.json: invalid JSON at line 3, column 3: expected a property name in double quotes, got 'b'$/],
    ['{"a": 1,}', /^f\.json: invalid JSON at line 1, column 8: trailing comma before '}'$/],
    ['[1, 2,]', /^f\.json: invalid JSON at line 1, column 6: trailing comma before '\]'$/],
    ["{'a': 1}", /at line 1, column 2: property names need double quotes, not single quotes$/],
    ['{"a": \'x\'}', /at line 1, column 7: strings need double quotes, not single quotes$/],
    ['{"a": "x\ny"}', /at line 1, column 9: unescaped control character/],
    ['{"a": "\\q"}', /bad escape '\\q' in a string$/],
    ['{"a": "\\u12g4"}', /bad \\u escape in a string$/],
    ['{"a": "open', /at line 1, column 7: unterminated string$/],
    ['{"a": [1, 2}', /expected ',' or '\]' after an array item, got '}'$/],
    ['{"a" 1}', /expected ':' after property name 'a', got '1'$/],
    ['{"a": 1} x', /at line 1, column 10: unexpected 'x' after the end of the document$/],
    ['{"a": {"b": 1}', /unexpected end of input|expected ',' or '}' after a property value, got end of input/],
    ['{"a": NaN}', /expected a value \(number, string, true, false, null, object or array\), got 'N'$/],
    ['  \n', /^f\.json: invalid JSON at line 2, column 1: the file is empty$/],
  ] as const) {
    it(JSON.stringify(text), () => {
      const e = refused(text);
      expect(e.file).toBe('f.json');
      expect(e.problems).toHaveLength(1);
      expect(e.problems[0]!.path).toBe('');
      expect(e.message).toMatch(message);
    });
  }

  it('JSON.parse decides validity: numbers of any length, deep nesting', () => {
    const long = `{"x": ${'9'.repeat(100)}.5}`;
    expect((parseStrictJson(long, 'f.json').value as { x: number }).x).toBe(Number(`${'9'.repeat(100)}.5`));
    const deep = `${'['.repeat(20000)}${']'.repeat(20000)}`;
    expect(Array.isArray(parseStrictJson(deep, 'f.json').value)).toBe(true);
    // Too deep for the scanner's stack: the position is JSON.parse's to tell, the file still named.
    expect(refused(`${'['.repeat(20000)}`).message).toMatch(/^f\.json: invalid JSON/);
  });

  it('a byte-order mark is ignored', () => {
    expect(parseStrictJson('\uFEFF{"a": 1}', 'f.json').value).toEqual({ a: 1 });
    expect(stripBom('\uFEFFx')).toBe('x');
  });
});

describe('duplicated keys', () => {
  const text = '{\n  "a": 1,\n  "s": { "b/c": 1, "b/c": 2 },\n  "a": 3\n}';

  it('are refused by default, each with its JSON pointer, line and column', () => {
    const e = refused(text);
    expect(e.problems.map((p) => p.path)).toEqual(['/s/b~1c', '/a']);
    expect(e.message.split('\n')).toEqual([
      "f.json: /s/b~1c: duplicate property 'b/c' (line 3, column 20); only the last one would count",
      "f.json: /a: duplicate property 'a' (line 4, column 3); only the last one would count",
    ]);
  });

  it('are returned in report mode, for a caller listing them with its own problems', () => {
    const r = parseStrictJson(text, 'f.json', { duplicates: 'report' });
    expect(r.value).toEqual({ a: 3, s: { 'b/c': 2 } });
    expect(r.duplicates.map((d) => d.path)).toEqual(['/s/b~1c', '/a']);
  });

  it('keep the last in allow mode (as JSON.parse and Python do)', () => {
    expect(parseStrictJson(text, 'f.json', { duplicates: 'allow' })).toEqual({ value: { a: 3, s: { 'b/c': 2 } }, duplicates: [] });
  });

  it('keys that differ only by escapes are the same key', () => {
    expect(refused('{"a": 1, "\\u0061": 2}').problems[0]!.path).toBe('/a');
  });

  it('equal keys in different objects are not duplicates', () => {
    expect(parseStrictJson('[{"a": 1}, {"a": 2}]', 'f.json').value).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('files and pointers', () => {
  it('an unreadable file is named with the reason', () => {
    expect(() => readJsonFile('/nonexistent/x.json', { what: 'device profile' })).toThrow(/^\/nonexistent\/x\.json: cannot read device profile \(ENOENT: no such file or directory\)$/);
    const d = mkdtempSync(join(tmpdir(), 'aimc-json-'));
    expect(() => readJsonFile(d)).toThrow(/cannot read JSON file \(EISDIR/);
    writeFileSync(join(d, 'ok.json'), '{"a": [1]}');
    expect(readJsonFile(join(d, 'ok.json')).value).toEqual({ a: [1] });
  });

  it('pointer segments escape ~ and /, and valueAt follows them', () => {
    expect(escapePointer('a~/b')).toBe('a~0~1b');
    expect(unescapePointer('a~0~1b')).toBe('a~/b');
    expect(valueAt({ 'a/b': [0, { c: 5 }] }, '/a~1b/1/c')).toBe(5);
    expect(valueAt({ a: 1 }, '/a/b')).toBeUndefined();
    expect(valueAt(7, '')).toBe(7);
    expect(describeOffset('ab\ncd', 4)).toBe('line 2, column 2');
  });
});
