/**
 * The expression language of device profiles: parsed by mathjs, checked against a
 * whitelist, compiled to closures over tfjs ops (and over plain numbers) and to a postfix
 * program for the native evaluator. Nothing is ever evaluated by mathjs or by eval: an
 * expression can only compute arithmetic on the variables its field allows.
 *
 * mathjs nodes carry no source positions, so the compiler scans the source with a tokenizer
 * that mirrors mathjs's own and walks the tree in source order with a cursor over those
 * tokens: every accepted node consumes exactly its tokens, so the cursor sits on the first
 * token of whatever node is refused next.
 */
import * as tf from '@tensorflow/tfjs';
import { parse, type MathNode } from 'mathjs';

/** A refused or unparsable expression, with the 0-based character position of the offending construct. */
export class ExprError extends Error {
  /** The message without the position prefix. */
  readonly reason: string;
  constructor(
    message: string,
    readonly expression: string,
    readonly position: number,
  ) {
    super(`at char ${position}: ${message}`);
    this.name = 'ExprError';
    this.reason = message;
  }
}

export interface CompiledExpr {
  /** The original string (String(n) for a number). */
  readonly source: string;
  /** The allowed variables it actually uses, sorted. */
  readonly variables: string[];
  /** Uses no variables. */
  readonly isConstant: boolean;
  /** Evaluate with tfjs ops; vars may be tensors (broadcast) or numbers. Always returns a float32 tensor. Caller manages tidy(). */
  tensor(vars: Readonly<Record<string, tf.Tensor | number>>): tf.Tensor;
  /** Evaluate on plain JS numbers (float64), same semantics. */
  scalar(vars: Readonly<Record<string, number>>): number;
  /** Postfix program for the native evaluator: [op, arg] pairs; VAR args index `variables`. */
  readonly program: Float64Array;
  /** Deepest stack the program needs. */
  readonly stackDepth: number;
}

export interface CompileOptions {
  /** Allowed variables fixed at compile time: folded like literals, not listed in `variables`. */
  constants?: Readonly<Record<string, number>>;
  /**
   * Allowed variables defined by other expressions (e.g. r = 'g / gMax'), inlined. Their
   * errors are reported at the variable's position in the outer expression.
   */
  defs?: Readonly<Record<string, string>>;
}

/**
 * Opcodes of the postfix form the native evaluator runs (native/expr.cc); keep in sync.
 * Binary ops pop b then a and push f(a, b); unary ops replace the top.
 */
export const OP = {
  VAR: 0, CONST: 1,
  ADD: 2, SUB: 3, MUL: 4, DIV: 5, POW: 6, LT: 7, LE: 8, GT: 9, GE: 10, EQ: 11, NE: 12, MIN: 13, MAX: 14,
  NEG: 20, LOG: 21, EXP: 22, SQRT: 23, ABS: 24, SQUARE: 25,
} as const;

type Val = tf.Tensor | number;
type Code = [number, number | string][];
interface Compiled {
  t: (v: Readonly<Record<string, Val>>) => Val;
  s: (v: Readonly<Record<string, number>>) => number;
  constant: number | null;
  /** Postfix code: [op, arg] pairs; VAR's arg is the variable name until linked. */
  code: Code;
}

/** name → [min, max] argument count */
const FUNCTIONS: Record<string, [number, number]> = {
  log: [1, 1],
  exp: [1, 1],
  sqrt: [1, 1],
  abs: [1, 1],
  min: [2, Infinity],
  max: [2, Infinity],
  clip: [3, 3],
  pow: [2, 2],
};
const FUNCTION_LIST = Object.keys(FUNCTIONS).join(', ');

/** mathjs operator fn → source text, for the binary operators of the language. */
const BINARY: Record<string, string> = {
  add: '+',
  subtract: '-',
  multiply: '*',
  divide: '/',
  pow: '^',
  smaller: '<',
  smallerEq: '<=',
  larger: '>',
  largerEq: '>=',
  equal: '==',
  unequal: '!=',
};
const COMPARISONS = ['<', '<=', '>', '>=', '==', '!='];

/** What a refused mathjs operator is, so the message says more than its symbol. */
const REFUSED_OPERATOR: Record<string, string> = {
  mod: 'modulo',
  dotMultiply: 'element-wise multiplication',
  dotDivide: 'element-wise division',
  dotPow: 'element-wise power',
  bitAnd: 'bitwise and',
  bitOr: 'bitwise or',
  bitXor: 'bitwise xor',
  bitNot: 'bitwise not',
  leftShift: 'bit shift',
  rightArithShift: 'bit shift',
  rightLogShift: 'bit shift',
  and: 'logical and',
  or: 'logical or',
  xor: 'logical xor',
  not: 'logical not',
  to: 'unit conversion',
  nullish: 'nullish coalescing',
};

/** Names mathjs would read as constants; they get a hint since users expect them to work. */
const MATH_CONSTANTS = new Set(['pi', 'PI', 'e', 'E', 'tau', 'phi', 'i', 'LN2', 'LN10', 'LOG2E', 'LOG10E', 'SQRT2', 'SQRT1_2']);

// ---------------------------------------------------------------------------------------
// Tokens with source offsets (mathjs's own tokens are not exposed)

interface Token {
  text: string;
  pos: number;
}

const DELIMS2 = new Set(['.*', './', '.^', '^|', '?.', '??', '==', '!=', '<=', '>=', '<<', '>>']);
const DELIMS1 = new Set([',', '(', ')', '[', ']', '{', '}', ';', '+', '-', '*', '/', '%', '^', '~', '!', '&', '|', '=', ':', '?', '<', '>', "'"]);
const NAMED_OPERATORS = new Set(['mod', 'to', 'in', 'and', 'xor', 'or', 'not']);
const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
// mathjs's isAlpha: latin, accented latin, greek, letter-like symbols, math alphanumerics (surrogate pairs).
const isAlpha = (c: string | undefined) => c !== undefined && /^[a-zA-Z_$\u00C0-\u02AF\u0370-\u03FF\u2100-\u214F\uD835\uDC00-\uDFFF]$/.test(c);
const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Split the source the way mathjs's getToken does (only ever run on sources mathjs parsed).
 * Strings become one token; newlines are tokens only outside brackets, as in mathjs.
 */
function tokenize(src: string): Token[] {
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
    return /^[\d.]/.test(last) || (isAlpha(last[0]) && !NAMED_OPERATORS.has(last)) || /^["']./.test(last) || [')', ']', '}', "'", '!'].includes(last);
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

// ---------------------------------------------------------------------------------------
// Evaluation primitives: numbers stay numbers, tensors go through tfjs ops

const isNum = (v: Val): v is number => typeof v === 'number';
const asF = (t: tf.Tensor) => tf.cast(t, 'float32');

/** x^c for a constant c: the wasm Pow kernel is ~25x slower than Square or Sqrt. */
function powConst(x: tf.Tensor, c: number): tf.Tensor {
  if (c === 1) return x;
  if (c === 2) return tf.square(x);
  if (c === 3) return tf.mul(tf.square(x), x);
  if (c === 0.5) return tf.sqrt(x);
  if (c === -1) return tf.reciprocal(x);
  return tf.pow(x, c);
}

const BIN_S: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
  pow: (a, b) => a ** b,
  smaller: (a, b) => +(a < b),
  smallerEq: (a, b) => +(a <= b),
  larger: (a, b) => +(a > b),
  largerEq: (a, b) => +(a >= b),
  equal: (a, b) => +(a === b),
  unequal: (a, b) => +(a !== b),
};
const BIN_TT: Record<string, (a: tf.Tensor | number, b: tf.Tensor | number) => tf.Tensor> = {
  add: (a, b) => tf.add(a, b),
  subtract: (a, b) => tf.sub(a, b),
  multiply: (a, b) => tf.mul(a, b),
  // Dividing by a constant multiplies by its reciprocal: RealDiv is ~8x slower on wasm.
  divide: (a, b) => (isNum(b) ? tf.mul(a, 1 / b) : tf.div(a, b)),
  pow: (a, b) => (isNum(b) ? powConst(a as tf.Tensor, b) : tf.pow(a, b)),
  smaller: (a, b) => asF(tf.less(a, b)),
  smallerEq: (a, b) => asF(tf.lessEqual(a, b)),
  larger: (a, b) => asF(tf.greater(a, b)),
  largerEq: (a, b) => asF(tf.greaterEqual(a, b)),
  equal: (a, b) => asF(tf.equal(a, b)),
  unequal: (a, b) => asF(tf.notEqual(a, b)),
};
const BIN_T: Record<string, (a: Val, b: Val) => Val> = Object.fromEntries(
  Object.keys(BIN_S).map((fn) => {
    const s = BIN_S[fn]!;
    const t = BIN_TT[fn]!;
    return [fn, (a: Val, b: Val) => (isNum(a) && isNum(b) ? s(a, b) : t(a, b))];
  }),
);
const BIN_OP: Record<string, number> = {
  add: OP.ADD, subtract: OP.SUB, multiply: OP.MUL, divide: OP.DIV, pow: OP.POW, smaller: OP.LT, smallerEq: OP.LE,
  larger: OP.GT, largerEq: OP.GE, equal: OP.EQ, unequal: OP.NE,
};

// min/max against a constant run as ClipByValue, ~10x faster than broadcast Minimum/Maximum on
// wasm; ClipByValue asserts its bounds are ordered, so NaN constants take the general path.
const minT = (a: Val, b: Val): Val =>
  isNum(a) && isNum(b)
    ? Math.min(a, b)
    : isNum(b) && !Number.isNaN(b)
      ? tf.clipByValue(a, -Infinity, b)
      : isNum(a) && !Number.isNaN(a)
        ? tf.clipByValue(b, -Infinity, a)
        : tf.minimum(a, b);
const maxT = (a: Val, b: Val): Val =>
  isNum(a) && isNum(b)
    ? Math.max(a, b)
    : isNum(b) && !Number.isNaN(b)
      ? tf.clipByValue(a, b, Infinity)
      : isNum(a) && !Number.isNaN(a)
        ? tf.clipByValue(b, a, Infinity)
        : tf.maximum(a, b);

const UNARY: Record<string, { s: (x: number) => number; t: (x: tf.Tensor) => tf.Tensor; op: number }> = {
  neg: { s: (x) => -x, t: tf.neg, op: OP.NEG },
  log: { s: Math.log, t: tf.log, op: OP.LOG },
  exp: { s: Math.exp, t: tf.exp, op: OP.EXP },
  sqrt: { s: Math.sqrt, t: tf.sqrt, op: OP.SQRT },
  abs: { s: Math.abs, t: tf.abs, op: OP.ABS },
};

function constant(v: number): Compiled {
  return { t: () => v, s: () => v, constant: v, code: [[OP.CONST, v]] };
}

function variable(name: string): Compiled {
  const missing = () => new Error(`variable '${name}' was not provided`);
  return {
    t: (v) => {
      const x = v[name];
      if (x === undefined) throw missing();
      return isNum(x) || x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    },
    s: (v) => {
      const x = v[name];
      if (x === undefined) throw missing();
      return x;
    },
    constant: null,
    code: [[OP.VAR, name]],
  };
}

function unary(kind: string, a: Compiled): Compiled {
  const { s, t, op } = UNARY[kind]!;
  if (a.constant !== null) return constant(s(a.constant));
  return { t: (v) => { const x = a.t(v); return isNum(x) ? s(x) : t(x); }, s: (v) => s(a.s(v)), constant: null, code: [...a.code, [op, 0]] };
}

function binary(fn: string, a: Compiled, b: Compiled): Compiled {
  const fs = BIN_S[fn]!;
  const ft = BIN_T[fn]!;
  if (a.constant !== null && b.constant !== null) return constant(fs(a.constant, b.constant));
  // Identities cost a full pass over the data each: x·1, x/1, x^1, x+0, x−0.
  if (b.constant === 1 && (fn === 'multiply' || fn === 'divide' || fn === 'pow')) return a;
  if (a.constant === 1 && fn === 'multiply') return b;
  if (b.constant === 0 && (fn === 'add' || fn === 'subtract')) return a;
  if (a.constant === 0 && fn === 'add') return b;
  const code: Code = fn === 'pow' && b.constant === 2 ? [...a.code, [OP.SQUARE, 0]] : [...a.code, ...b.code, [BIN_OP[fn]!, 0]];
  return { t: (v) => ft(a.t(v), b.t(v)), s: (v) => fs(a.s(v), b.s(v)), constant: null, code };
}

function extremum(name: 'min' | 'max', cs: Compiled[]): Compiled {
  const fs = name === 'min' ? Math.min : Math.max;
  const ft = name === 'min' ? minT : maxT;
  const op = name === 'min' ? OP.MIN : OP.MAX;
  // Folding the constant arguments together leaves one ClipByValue for all of them.
  const consts = cs.filter((c) => c.constant !== null).map((c) => c.constant!);
  const parts = cs.filter((c) => c.constant === null);
  if (consts.length) parts.push(constant(fs(...consts)));
  if (parts.length === 1) return parts[0]!;
  const code: Code = [...parts[0]!.code];
  for (const c of parts.slice(1)) code.push(...c.code, [op, 0]);
  return {
    t: (v) => parts.reduce<Val | null>((acc, c) => (acc === null ? c.t(v) : ft(acc, c.t(v))), null)!,
    s: (v) => parts.reduce((acc, c) => fs(acc, c.s(v)), name === 'min' ? Infinity : -Infinity),
    constant: null,
    code,
  };
}

function clip(x: Compiled, lo: Compiled, hi: Compiled): Compiled {
  if (lo.constant !== null && hi.constant !== null && lo.constant <= hi.constant) {
    const l = lo.constant;
    const h = hi.constant;
    if (x.constant !== null) return constant(Math.min(Math.max(x.constant, l), h));
    return {
      t: (v) => { const y = x.t(v); return isNum(y) ? Math.min(Math.max(y, l), h) : tf.clipByValue(y, l, h); },
      s: (v) => Math.min(Math.max(x.s(v), l), h),
      constant: null,
      code: [...x.code, ...lo.code, [OP.MAX, 0], ...hi.code, [OP.MIN, 0]],
    };
  }
  // Crossed or variable bounds: exactly min(max(x, lo), hi), whatever the order.
  return extremumPair('min', extremumPair('max', x, lo), hi);
}

/** Binary min/max without reordering arguments (clip's definition fixes the order). */
function extremumPair(name: 'min' | 'max', a: Compiled, b: Compiled): Compiled {
  const fs = name === 'min' ? Math.min : Math.max;
  const ft = name === 'min' ? minT : maxT;
  if (a.constant !== null && b.constant !== null) return constant(fs(a.constant, b.constant));
  return { t: (v) => ft(a.t(v), b.t(v)), s: (v) => fs(a.s(v), b.s(v)), constant: null, code: [...a.code, ...b.code, [name === 'min' ? OP.MIN : OP.MAX, 0]] };
}

function call(name: string, cs: Compiled[]): Compiled {
  switch (name) {
    case 'min':
    case 'max':
      return extremum(name, cs);
    case 'clip':
      return clip(cs[0]!, cs[1]!, cs[2]!);
    case 'pow':
      return binary('pow', cs[0]!, cs[1]!);
    default:
      return unary(name, cs[0]!);
  }
}

// ---------------------------------------------------------------------------------------
// The checker/compiler: one walk over the mathjs tree in source order

type Node = MathNode & Record<string, unknown>;

class Compiler {
  private readonly tokens: Token[];
  private k = 0;
  private readonly defCache = new Map<string, Compiled>();

  constructor(
    private readonly source: string,
    private readonly allowed: readonly string[],
    private readonly constants: Readonly<Record<string, number>>,
    private readonly defs: Readonly<Record<string, string>>,
    private readonly used: Set<string>,
  ) {
    this.tokens = tokenize(source);
  }

  compile(): Compiled {
    let root: MathNode;
    try {
      root = parse(this.source);
    } catch (e) {
      const err = e as Error & { char?: number };
      const char = typeof err.char === 'number' ? err.char : Number(/\(char (\d+)\)/.exec(err.message)?.[1] ?? 1);
      // mathjs counts from 1; the end of the input is length + 1.
      const pos = Math.min(Math.max(char - 1, 0), this.source.length);
      throw new ExprError(`syntax error: ${err.message.replace(/\s*\(char \d+\)/, '')}`, this.source, pos);
    }
    if (this.tokens.length === 0) throw new ExprError('empty expression', this.source, 0);
    return this.walk(root as Node);
  }

  private fail(message: string, pos: number): never {
    throw new ExprError(message, this.source, pos);
  }

  /** The next token; newlines are separators only at the top level, where BlockNode refuses them. */
  private peek(): Token | undefined {
    while (this.tokens[this.k]?.text === '\n') this.k++;
    return this.tokens[this.k];
  }

  private here(): number {
    return this.peek()?.pos ?? this.source.length;
  }

  private take(text: string): void {
    if (this.peek()?.text === text) {
      this.k++;
      return;
    }
    // Only reachable if the tokenizer and mathjs disagree: resync so later positions stay close.
    const j = this.tokens.findIndex((t, i) => i >= this.k && t.text === text);
    if (j >= 0) this.k = j + 1;
  }

  /**
   * Position of the `nth` token among `markers` outside brackets, scanning from the cursor
   * (the start of the node being refused). A bracket at the very start opens the node's
   * first operand (e.g. the matrix in `[1,2][1]`), so it is never a marker.
   */
  private find(markers: readonly string[], nth = 1): number {
    let depth = 0;
    let seen = 0;
    for (let j = this.k; j < this.tokens.length; j++) {
      const t = this.tokens[j]!.text;
      if (depth === 0 && markers.includes(t) && !(j === this.k && OPENERS.has(t)) && ++seen === nth) return this.tokens[j]!.pos;
      if (OPENERS.has(t)) depth++;
      else if (CLOSERS.has(t)) depth = Math.max(0, depth - 1);
    }
    return this.here();
  }

  private walk(n: Node): Compiled {
    switch (n.type) {
      case 'ConstantNode':
        return this.constantNode(n);
      case 'SymbolNode':
        return this.symbol(n.name as string);
      case 'ParenthesisNode': {
        this.take('(');
        const c = this.walk(n.content as Node);
        this.take(')');
        return c;
      }
      case 'OperatorNode':
        return this.operator(n);
      case 'FunctionNode':
        return this.functionCall(n);
      case 'AssignmentNode':
        return this.fail('assignments are not allowed', this.find(['=']));
      case 'FunctionAssignmentNode':
        return this.fail('function definitions are not allowed', this.find(['=']));
      case 'AccessorNode':
        return n.optionalChaining
          ? this.fail("optional chaining '?.' is not allowed", this.find(['?.']))
          : this.fail('property or index access is not allowed', this.find(['.', '[', '?.']));
      case 'IndexNode':
        return this.fail('indexing is not allowed', this.here());
      case 'ArrayNode':
        return this.fail('matrices and arrays are not allowed', this.here());
      case 'ObjectNode':
        return this.fail('objects are not allowed', this.here());
      case 'RangeNode':
        return this.fail("ranges 'a:b' are not allowed", this.find([':']));
      case 'BlockNode':
        return this.fail("multiple statements (';' or a line break) are not allowed", this.find([';', '\n']));
      case 'ConditionalNode':
        return this.fail("conditionals 'a ? b : c' are not allowed (write (cond) * a + (1 - cond) * b)", this.find(['?']));
      case 'RelationalNode':
        return this.fail('chained comparisons are not allowed (write (a < r) * (r < b))', this.find(COMPARISONS, 2));
      default:
        return this.fail(`${n.type} is not allowed`, this.here());
    }
  }

  private constantNode(n: Node): Compiled {
    const v = n.value;
    const tok = this.peek();
    if (typeof v === 'string') return this.fail('strings are not allowed', this.here());
    if (typeof v === 'number') {
      if (tok && /^\.?\d/.test(tok.text)) {
        // mathjs's hex/binary/octal literals wrap around ('0xffi8' is -1): not worth the surprise.
        if (!DECIMAL.test(tok.text)) return this.fail(`only decimal numbers are allowed, got '${tok.text}'`, tok.pos);
        if (!Number.isFinite(v)) return this.fail(`number '${tok.text}' is not finite`, tok.pos);
        this.k++;
        return constant(v);
      }
      // A number without its token would mean the tokenizer lost step; positions are only
      // diagnostics, so accept rather than refuse a valid literal.
      if (Number.isFinite(v)) return constant(v);
    }
    // true, false, null, undefined, NaN, Infinity are keywords to mathjs.
    return this.fail(`'${tok?.text ?? String(v)}' is not allowed (only finite numbers and the variables ${this.allowedList()})`, this.here());
  }

  private allowedList(): string {
    return this.allowed.length ? this.allowed.join(', ') : 'none';
  }

  private symbol(name: string): Compiled {
    if (!this.allowed.includes(name)) {
      const hint = MATH_CONSTANTS.has(name) ? '; write constants as numbers' : '';
      return this.fail(`unknown name '${name}' (allowed: ${this.allowedList()}${hint})`, this.here());
    }
    const pos = this.here();
    this.take(name);
    if (name in this.constants) return constant(this.constants[name]!);
    if (name in this.defs) return this.def(name, pos);
    this.used.add(name);
    return variable(name);
  }

  private def(name: string, pos: number): Compiled {
    const cached = this.defCache.get(name);
    if (cached) return cached;
    const src = this.defs[name]!;
    // A definition may use the others but not itself.
    const rest = Object.fromEntries(Object.entries(this.defs).filter(([k]) => k !== name));
    let c: Compiled;
    try {
      c = new Compiler(src, this.allowed, this.constants, rest, this.used).compile();
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      return this.fail(`in ${name} = '${src}': ${e.reason} (at char ${e.position})`, pos);
    }
    this.defCache.set(name, c);
    return c;
  }

  private operator(n: Node): Compiled {
    const fn = n.fn as string;
    const op = n.op as string;
    const args = n.args as Node[];
    if (n.implicit) {
      this.walk(args[0]!);
      return this.fail('implicit multiplication is not allowed (write * explicitly)', this.here());
    }
    if (n.isPercentage) return this.fail("percentages ('%' after a number) are not allowed", this.find(['%']));
    if (args.length === 1) {
      if (fn === 'unaryMinus' || fn === 'unaryPlus') {
        this.take(op);
        const a = this.walk(args[0]!);
        return fn === 'unaryPlus' ? a : unary('neg', a);
      }
      if (fn === 'factorial') return this.fail("factorial '!' is not allowed", this.find(['!']));
      if (fn === 'ctranspose' || fn === 'transpose') return this.fail("transpose ''' is not allowed", this.find(["'"]));
      return this.fail(`operator '${op}' is not allowed (${REFUSED_OPERATOR[fn] ?? fn})`, this.here());
    }
    if (args.length === 2 && BINARY[fn]) {
      const a = this.walk(args[0]!);
      this.take(op);
      // `x + 5%` parses as x + x * (5 / 100), sharing the node x: walk the percentage alone so it is refused.
      const right = args[1]!;
      if ((fn === 'add' || fn === 'subtract') && right.type === 'OperatorNode' && right.fn === 'multiply' && (right.args as Node[])[0] === args[0]) {
        const pct = (right.args as Node[])[1]!;
        if (pct.isPercentage) this.walk(pct);
      }
      const b = this.walk(right);
      return binary(fn, a, b);
    }
    return this.fail(`operator '${op}' is not allowed (${REFUSED_OPERATOR[fn] ?? fn})`, this.find([op]));
  }

  private functionCall(n: Node): Compiled {
    if (n.optional) return this.fail("optional chaining '?.' is not allowed", this.find(['?.']));
    const callee = n.fn as Node;
    if (callee.type !== 'SymbolNode') {
      this.walk(callee);
      return this.fail(`only calls of ${FUNCTION_LIST} are allowed`, this.here());
    }
    const name = callee.name as string;
    const pos = this.here();
    if (!(name in FUNCTIONS)) {
      const hint = this.allowed.includes(name) ? `; to multiply by ${name}, write ${name} * (…)` : '';
      return this.fail(`function '${name}' is not allowed (allowed: ${FUNCTION_LIST}${hint})`, pos);
    }
    const [lo, hi] = FUNCTIONS[name]!;
    const args = n.args as Node[];
    if (args.length < lo || args.length > hi) {
      const want = lo === hi ? `${lo} argument${lo === 1 ? '' : 's'}` : `at least ${lo} arguments`;
      return this.fail(`${name}() takes ${want}, got ${args.length}`, pos);
    }
    this.take(name);
    this.take('(');
    const cs = args.map((a, i) => {
      if (i > 0) this.take(',');
      return this.walk(a);
    });
    this.take(')');
    return call(name, cs);
  }
}

// ---------------------------------------------------------------------------------------

/** Compile an expression (string or number) over the allowed variable names; throws ExprError. */
export function compileExpr(source: string | number, allowed: readonly string[], opts: CompileOptions = {}): CompiledExpr {
  if (typeof source === 'number') {
    if (!Number.isFinite(source)) throw new ExprError(`expected a finite number, got ${source}`, String(source), 0);
    return constantExpr(String(source), source);
  }
  if (typeof source !== 'string') {
    throw new ExprError(`expected an expression string or a number, got ${source === null ? 'null' : typeof source}`, String(source), 0);
  }
  if (source.trim() === '') throw new ExprError('empty expression', source, 0);
  const used = new Set<string>();
  const c = new Compiler(source, allowed, opts.constants ?? {}, opts.defs ?? {}, used).compile();
  if (c.constant !== null) return constantExpr(source, c.constant);
  const variables = [...used].sort();
  const { program, stackDepth } = link(c.code, variables);
  return {
    source,
    variables,
    isConstant: false,
    program,
    stackDepth,
    tensor: (vars) => {
      const r = c.t(vars);
      if (isNum(r)) return tf.scalar(r, 'float32');
      // The result may be an input (e.g. 'r', '(r)', 'r * 1'); the caller owns the result, not the input.
      for (const k in vars) if (vars[k] === r) return tf.clone(r);
      return r;
    },
    scalar: (vars) => c.s(vars),
  };
}

function constantExpr(source: string, v: number): CompiledExpr {
  return {
    source,
    variables: [],
    isConstant: true,
    tensor: () => tf.scalar(v, 'float32'),
    scalar: () => v,
    program: Float64Array.of(OP.CONST, v),
    stackDepth: 1,
  };
}

/** Resolve variable names to indexes and measure the stack depth. */
function link(code: Code, variables: string[]): { program: Float64Array; stackDepth: number } {
  const program = new Float64Array(code.length * 2);
  let depth = 0;
  let max = 0;
  code.forEach(([op, arg], i) => {
    program[2 * i] = op;
    program[2 * i + 1] = op === OP.VAR ? variables.indexOf(arg as string) : (arg as number);
    if (op === OP.VAR || op === OP.CONST) depth++;
    else if (op < 20) depth--;
    max = Math.max(max, depth);
  });
  return { program, stackDepth: max };
}
