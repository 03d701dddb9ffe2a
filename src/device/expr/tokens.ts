/**
 * Tokens of an expression with source offsets (mathjs's own tokens are not exposed): the
 * parser walks mathjs's tree in source order with a cursor over these, so a refusal can
 * name the character where the refused construct starts.
 */

export interface Token {
  text: string;
  pos: number;
}

const DELIMS2 = new Set(['.*', './', '.^', '^|', '?.', '??', '==', '!=', '<=', '>=', '<<', '>>']);
const DELIMS1 = new Set([
  ',',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ';',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '~',
  '!',
  '&',
  '|',
  '=',
  ':',
  '?',
  '<',
  '>',
  "'",
]);
const NAMED_OPERATORS = new Set(['mod', 'to', 'in', 'and', 'xor', 'or', 'not']);
export const OPENERS = new Set(['(', '[', '{']);
export const CLOSERS = new Set([')', ']', '}']);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
// mathjs's isAlpha: latin, accented latin, greek, letter-like symbols, math alphanumerics (surrogate pairs).
const isAlpha = (c: string | undefined) =>
  c !== undefined && /^[a-zA-Z_$\u00C0-\u02AF\u0370-\u03FF\u2100-\u214F\uD835\uDC00-\uDFFF]$/.test(c);
export const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Split the source the way mathjs's getToken does (only ever run on sources mathjs parsed).
 * Strings become one token; newlines are tokens only outside brackets, as in mathjs.
 */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let depth = 0;
  let i = 0;
  const push = (text: string, pos: number) => {
    out.push({ text, pos });
    i = pos + text.length;
  };
  // A quote after an operand is the transpose operator, elsewhere it opens a string.
  const afterOperand = () => {
    const last = out[out.length - 1]?.text;
    if (last === undefined) return false;
    return (
      /^[\d.]/.test(last) ||
      (isAlpha(last[0]) && !NAMED_OPERATORS.has(last)) ||
      /^["']./.test(last) ||
      [')', ']', '}', "'", '!'].includes(last)
    );
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\u00A0' || (c === '\n' && depth > 0)) {
      i++;
      continue;
    }
    if (c === '\n') {
      push(c, i);
      continue;
    }
    if (c === '"' || (c === "'" && !afterOperand())) {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      push(src.slice(i, Math.min(j + 1, src.length)), i);
      continue;
    }
    if (src.startsWith('>>>', i)) {
      push('>>>', i);
      continue;
    }
    const c2 = src.slice(i, i + 2);
    if (DELIMS2.has(c2) && !(c2 === '?.' && isDigit(src[i + 2]))) {
      push(c2, i);
      continue;
    }
    if (DELIMS1.has(c)) {
      if (OPENERS.has(c)) depth++;
      else if (CLOSERS.has(c)) depth = Math.max(0, depth - 1);
      push(c, i);
      continue;
    }
    if (isDigit(c) || c === '.') {
      let j = i;
      if (/^0[box]/.test(src.slice(i, i + 2))) {
        j += 2;
        while (isAlpha(src[j]) || isDigit(src[j]) || src[j] === '.') j++;
      } else if (c === '.' && !isDigit(src[i + 1])) {
        j = i + 1;
      } else {
        while (isDigit(src[j])) j++;
        if (src[j] === '.' && !['/', '*', '^'].includes(src[j + 1] ?? '')) j++;
        while (isDigit(src[j])) j++;
        if ((src[j] === 'e' || src[j] === 'E') && (isDigit(src[j + 1]) || src[j + 1] === '+' || src[j + 1] === '-')) {
          j += src[j + 1] === '+' || src[j + 1] === '-' ? 2 : 1;
          while (isDigit(src[j])) j++;
        }
      }
      push(src.slice(i, j), i);
      continue;
    }
    if (isAlpha(c)) {
      let j = i;
      while (isAlpha(src[j]) || isDigit(src[j])) j++;
      push(src.slice(i, j), i);
      continue;
    }
    push(c, i);
  }
  return out;
}
