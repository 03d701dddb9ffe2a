/**
 * The expression language of device profiles: parsed by mathjs, checked against a
 * whitelist, compiled to closures over tfjs ops (and over plain numbers). Nothing is ever
 * evaluated by mathjs or by eval: an expression can only compute arithmetic on the
 * variables its field allows.
 */
import * as tf from '@tensorflow/tfjs';
import { parse, ParenthesisNode, type MathNode } from 'mathjs';

export class ExprError extends Error {
  constructor(
    message: string,
    readonly expression: string,
    readonly position: number,
  ) {
    super(`at char ${position}: ${message}`);
    this.name = 'ExprError';
  }
}

export interface CompiledExpr {
  readonly source: string;
  readonly variables: string[];
  readonly isConstant: boolean;
  /** Evaluate with tfjs ops; vars may be tensors (broadcast) or numbers. Caller manages tidy(). */
  tensor(vars: Readonly<Record<string, tf.Tensor | number>>): tf.Tensor;
  /** Evaluate on plain numbers (float64), same semantics. */
  scalar(vars: Readonly<Record<string, number>>): number;
  /** Postfix program for the native evaluator: [op, arg] pairs; VAR args index `variables`. */
  readonly program: Float64Array;
  /** Deepest stack the program needs. */
  readonly stackDepth: number;
}

type Val = tf.Tensor | number;
interface Compiled {
  t: (v: Readonly<Record<string, Val>>) => Val;
  s: (v: Readonly<Record<string, number>>) => number;
  constant: number | null;
  /** Postfix code: [op, arg] pairs; VAR's arg is the variable name until linked. */
  code: [number, number | string][];
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
const BIN_OP: Record<string, number> = {
  add: OP.ADD, subtract: OP.SUB, multiply: OP.MUL, divide: OP.DIV, pow: OP.POW, smaller: OP.LT, smallerEq: OP.LE,
  larger: OP.GT, largerEq: OP.GE, equal: OP.EQ, unequal: OP.NE,
};
const UN_OP: Record<string, number> = { log: OP.LOG, exp: OP.EXP, sqrt: OP.SQRT, abs: OP.ABS };

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

/** A token of the source with its offset, used to report positions (mathjs nodes have none). */
interface Token {
  text: string;
  pos: number;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(\d*\.?\d+(?:[eE][+-]?\d+)?|[A-Za-z_$][A-Za-z0-9_$]*|<=|>=|==|!=|"[^"]*"?|'[^']*'?|\S)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src)) !== null && m[0] !== '') out.push({ text: m[1]!, pos: m.index + m[0].length - m[1]!.length });
  return out;
}

/** Position of the n-th token (0-based occurrence) whose text is `text`; falls back to 0. */
function positionOf(tokens: Token[], text: string, occurrence = 0): number {
  let seen = 0;
  for (const t of tokens) if (t.text === text && seen++ === occurrence) return t.pos;
  return 0;
}

const isNum = (v: Val): v is number => typeof v === 'number';

function lift(op: (a: number, b: number) => number, top: (a: tf.Tensor | number, b: tf.Tensor | number) => tf.Tensor) {
  return (a: Val, b: Val): Val => (isNum(a) && isNum(b) ? op(a, b) : top(a, b));
}

const asF = (t: tf.Tensor) => tf.cast(t, 'float32');
const BIN_T: Record<string, (a: Val, b: Val) => Val> = {
  add: lift((a, b) => a + b, (a, b) => tf.add(a, b)),
  subtract: lift((a, b) => a - b, (a, b) => tf.sub(a, b)),
  multiply: lift((a, b) => a * b, (a, b) => tf.mul(a, b)),
  // Dividing by a constant multiplies by its reciprocal: RealDiv is ~8x slower on wasm.
  divide: lift((a, b) => a / b, (a, b) => (isNum(b) ? tf.mul(a, 1 / b) : tf.div(a, b))),
  pow: (a, b) => (isNum(a) && isNum(b) ? a ** b : isNum(b) && !isNum(a) ? powConst(a, b) : tf.pow(a, b)),
  smaller: lift((a, b) => +(a < b), (a, b) => asF(tf.less(a, b))),
  smallerEq: lift((a, b) => +(a <= b), (a, b) => asF(tf.lessEqual(a, b))),
  larger: lift((a, b) => +(a > b), (a, b) => asF(tf.greater(a, b))),
  largerEq: lift((a, b) => +(a >= b), (a, b) => asF(tf.greaterEqual(a, b))),
  equal: lift((a, b) => +(a === b), (a, b) => asF(tf.equal(a, b))),
  unequal: lift((a, b) => +(a !== b), (a, b) => asF(tf.notEqual(a, b))),
};
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

/** x^c for a constant c: the wasm Pow kernel is ~25x slower than Square or Sqrt. */
function powConst(x: tf.Tensor, c: number): tf.Tensor {
  if (c === 1) return x;
  if (c === 2) return tf.square(x);
  if (c === 3) return tf.mul(tf.square(x), x);
  if (c === 0.5) return tf.sqrt(x);
  if (c === -1) return tf.reciprocal(x);
  return tf.pow(x, c);
}

// min/max against a constant run as ClipByValue, ~10x faster than broadcast Minimum/Maximum on wasm.
const minT = (a: Val, b: Val): Val =>
  isNum(a) && isNum(b) ? Math.min(a, b) : isNum(b) ? tf.clipByValue(a, -Infinity, b) : isNum(a) ? tf.clipByValue(b, -Infinity, a) : tf.minimum(a, b);
const maxT = (a: Val, b: Val): Val =>
  isNum(a) && isNum(b) ? Math.max(a, b) : isNum(b) ? tf.clipByValue(a, b, Infinity) : isNum(a) ? tf.clipByValue(b, a, Infinity) : tf.maximum(a, b);
const unaryT = (f: (x: number) => number, g: (x: tf.Tensor) => tf.Tensor) => (x: Val): Val => (isNum(x) ? f(x) : g(x));
const FN_T: Record<string, (args: Val[]) => Val> = {
  log: ([x]) => unaryT(Math.log, tf.log)(x!),
  exp: ([x]) => unaryT(Math.exp, tf.exp)(x!),
  sqrt: ([x]) => unaryT(Math.sqrt, tf.sqrt)(x!),
  abs: ([x]) => unaryT(Math.abs, tf.abs)(x!),
  min: (xs) => xs.reduce(minT),
  max: (xs) => xs.reduce(maxT),
  clip: ([x, lo, hi]) =>
    isNum(lo!) && isNum(hi!) && !isNum(x!) ? tf.clipByValue(x!, lo, Math.max(lo, hi)) : minT(maxT(x!, lo!), hi!),
  pow: ([a, b]) => BIN_T.pow!(a!, b!),
};
const FN_S: Record<string, (args: number[]) => number> = {
  log: ([x]) => Math.log(x!),
  exp: ([x]) => Math.exp(x!),
  sqrt: ([x]) => Math.sqrt(x!),
  abs: ([x]) => Math.abs(x!),
  min: (xs) => Math.min(...xs),
  max: (xs) => Math.max(...xs),
  clip: ([x, lo, hi]) => Math.min(Math.max(x!, lo!), hi!),
  pow: ([a, b]) => a! ** b!,
};

/** Compile an expression (string or number) over the allowed variable names; throws ExprError. */
export function compileExpr(
  source: string | number,
  allowed: readonly string[],
  opts: { constants?: Readonly<Record<string, number>>; defs?: Readonly<Record<string, string>> } = {},
): CompiledExpr {
  const constants = opts.constants ?? {};
  const defs = opts.defs ?? {};
  if (typeof source === 'number') {
    if (!Number.isFinite(source)) throw new ExprError(`expected a finite number, got ${source}`, String(source), 0);
    return constantExpr(String(source), source);
  }
  if (typeof source !== 'string') throw new ExprError(`expected an expression string or a number, got ${typeof source}`, String(source), 0);
  if (source.trim() === '') throw new ExprError('empty expression', source, 0);
  const tokens = tokenize(source);
  let root: MathNode;
  try {
    root = parse(source);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /\(char (\d+)\)/.exec(msg);
    throw new ExprError(`syntax error: ${msg.replace(/\s*\(char \d+\)/, '')}`, source, m ? Math.max(Number(m[1]) - 1, 0) : 0);
  }
  const used = new Set<string>();
  // Occurrence counters so repeated names/operators map to successive tokens.
  const seen = new Map<string, number>();
  const at = (text: string) => {
    const k = seen.get(text) ?? 0;
    return positionOf(tokens, text, k);
  };
  const bump = (text: string) => seen.set(text, (seen.get(text) ?? 0) + 1);
  const fail = (msg: string, text: string): never => {
    throw new ExprError(msg, source, at(text));
  };

  const walk = (node: MathNode): Compiled => {
    const n = node as MathNode & Record<string, unknown>;
    switch (node.type) {
      case 'ConstantNode': {
        const v = n.value;
        if (typeof v === 'number' && Number.isFinite(v)) {
          return constant(v);
        }
        if (typeof v === 'string') return fail('strings are not allowed', `"${v}"`.startsWith('"') ? firstQuote(tokens) : '');
        return fail(`constant ${String(v)} is not allowed`, String(v));
      }
      case 'SymbolNode': {
        const name = n.name as string;
        if (!allowed.includes(name)) {
          return fail(`unknown name '${name}' (allowed: ${allowed.length ? allowed.join(', ') : 'none'})`, name);
        }
        bump(name);
        // Variables the caller fixes at compile time fold like literals.
        if (name in constants) return constant(constants[name]!);
        used.add(name);
        return {
          code: [[OP.VAR, name]],
          t: (v) => {
            const x = v[name];
            if (x === undefined) throw new Error(`variable '${name}' was not provided`);
            return x;
          },
          s: (v) => {
            const x = v[name];
            if (x === undefined) throw new Error(`variable '${name}' was not provided`);
            return x;
          },
          constant: null,
        };
      }
      case 'ParenthesisNode':
        bump('(');
        return walk(n.content as MathNode);
      case 'OperatorNode': {
        const fn = n.fn as string;
        const args = n.args as MathNode[];
        const op = n.op as string;
        if (n.implicit) return fail('implicit multiplication is not allowed (write * explicitly)', implicitToken(tokens, args, allowed));
        if (args.length === 1) {
          if (fn === 'unaryMinus' || fn === 'unaryPlus') {
            const a = walk(args[0]!);
            bump(op);
            if (fn === 'unaryPlus') return a;
            if (a.constant !== null) return constant(-a.constant);
            return { t: (v) => unaryT((x) => -x, tf.neg)(a.t(v)), s: (v) => -a.s(v), constant: null, code: [...a.code, [OP.NEG, 0]] };
          }
          return fail(`operator '${op}' is not allowed`, op);
        }
        const sym = BINARY[fn];
        if (!sym || args.length !== 2) return fail(`operator '${op}' is not allowed`, op);
        const a = walk(args[0]!);
        bump(op);
        const b = walk(args[1]!);
        const ft = BIN_T[fn]!;
        const fs = BIN_S[fn]!;
        if (a.constant !== null && b.constant !== null) return constant(fs(a.constant, b.constant));
        // Identities cost a full pass over the data each: x·1, x/1, x+0, x−0, x^1.
        if (b.constant === 1 && (fn === 'multiply' || fn === 'divide' || fn === 'pow')) return a;
        if (a.constant === 1 && fn === 'multiply') return b;
        if (b.constant === 0 && (fn === 'add' || fn === 'subtract')) return a;
        if (a.constant === 0 && fn === 'add') return b;
        const code: [number, number | string][] =
          fn === 'pow' && b.constant === 2 ? [...a.code, [OP.SQUARE, 0]] : [...a.code, ...b.code, [BIN_OP[fn]!, 0]];
        return { t: (v) => ft(a.t(v), b.t(v)), s: (v) => fs(a.s(v), b.s(v)), constant: null, code };
      }
      case 'FunctionNode': {
        const fnNode = n.fn as MathNode & { name?: string };
        const name = fnNode.type === 'SymbolNode' ? (fnNode.name as string) : '';
        if (!name || !(name in FUNCTIONS)) {
          return fail(`function '${name || fnNode.toString()}' is not allowed (allowed: ${Object.keys(FUNCTIONS).join(', ')})`, name || '(');
        }
        const [lo, hi] = FUNCTIONS[name]!;
        const args = n.args as MathNode[];
        if (args.length < lo || args.length > hi) {
          return fail(`${name}() takes ${lo === hi ? lo : `at least ${lo}`} argument(s), got ${args.length}`, name);
        }
        bump(name);
        const cs = args.map(walk);
        const ft = FN_T[name]!;
        const fs = FN_S[name]!;
        if (cs.every((c) => c.constant !== null)) return constant(fs(cs.map((c) => c.constant!)));
        return { t: (v) => ft(cs.map((c) => c.t(v))), s: (v) => fs(cs.map((c) => c.s(v))), constant: null, code: functionCode(name, cs) };
      }
      case 'AssignmentNode':
        return fail('assignments are not allowed', '=');
      case 'FunctionAssignmentNode':
        return fail('function definitions are not allowed', (n.name as string) ?? '=');
      case 'AccessorNode':
        return fail('property or index access is not allowed', tokens.some((t) => t.text === '.') ? '.' : '[');
      case 'IndexNode':
        return fail('indexing is not allowed', '[');
      case 'ArrayNode':
        return fail('matrices and arrays are not allowed', '[');
      case 'ObjectNode':
        return fail('objects are not allowed', '{');
      case 'RangeNode':
        return fail('ranges are not allowed', ':');
      case 'BlockNode':
        return fail('multiple statements are not allowed', tokens.some((t) => t.text === ';') ? ';' : '\n');
      case 'ConditionalNode':
        return fail("conditionals 'a ? b : c' are not allowed (write (cond) * a + (1 - cond) * b)", '?');
      case 'RelationalNode': {
        // Point at the second comparison operator: that is where the chain starts.
        const cmp = tokens.filter((t) => ['<', '<=', '>', '>=', '==', '!='].includes(t.text));
        throw new ExprError("chained comparisons are not allowed (write (a < r) * (r < b))", source, cmp[1]?.pos ?? 0);
      }
      default:
        return fail(`${node.type} is not allowed`, '');
    }
  };

  if (Object.keys(defs).length) {
    // Derived variables (e.g. r = g / gMax) are inlined as their own expressions. Used for
    // expressions aimc composes itself, whose parts were validated (and positioned) alone.
    root = root.transform((node) =>
      node.type === 'SymbolNode' && (node as MathNode & { name: string }).name in defs
        ? new ParenthesisNode(parse(defs[(node as MathNode & { name: string }).name]!))
        : node,
    );
  }
  const c = walk(root);
  const variables = [...used].sort();
  if (c.constant !== null) return constantExpr(source, c.constant, variables);
  const { program, stackDepth } = link(c.code, variables);
  return {
    source,
    variables,
    isConstant: false,
    program,
    stackDepth,
    tensor: (vars) => {
      const r = c.t(vars);
      return isNum(r) ? tf.scalar(r) : r.dtype === 'float32' ? r : tf.cast(r, 'float32');
    },
    scalar: (vars) => c.s(vars),
  };
}

function constant(v: number): Compiled {
  return { t: () => v, s: () => v, constant: v, code: [[OP.CONST, v]] };
}

function constantExpr(source: string, v: number, variables: string[] = []): CompiledExpr {
  return { source, variables, isConstant: true, tensor: () => tf.scalar(v), scalar: () => v, program: Float64Array.of(OP.CONST, v), stackDepth: 1 };
}

/** Postfix code of a whitelisted function call (clip and n-ary min/max become chains). */
function functionCode(name: string, cs: Compiled[]): [number, number | string][] {
  const code: [number, number | string][] = [];
  if (name in UN_OP) return [...cs[0]!.code, [UN_OP[name]!, 0]];
  if (name === 'pow') return cs[1]!.constant === 2 ? [...cs[0]!.code, [OP.SQUARE, 0]] : [...cs[0]!.code, ...cs[1]!.code, [OP.POW, 0]];
  if (name === 'clip') return [...cs[0]!.code, ...cs[1]!.code, [OP.MAX, 0], ...cs[2]!.code, [OP.MIN, 0]];
  const op = name === 'min' ? OP.MIN : OP.MAX;
  code.push(...cs[0]!.code);
  for (const c of cs.slice(1)) code.push(...c.code, [op, 0]);
  return code;
}

/** Resolve variable names to indexes and measure the stack depth. */
function link(code: [number, number | string][], variables: string[]): { program: Float64Array; stackDepth: number } {
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

function firstQuote(tokens: Token[]): string {
  return tokens.find((t) => t.text.startsWith('"') || t.text.startsWith("'"))?.text ?? '';
}

/** Token where an implicit multiplication starts: the second operand's first token. */
function implicitToken(tokens: Token[], args: MathNode[], _allowed: readonly string[]): string {
  const second = args[1] as MathNode & { name?: string; value?: unknown };
  if (second?.type === 'SymbolNode' && second.name) return second.name;
  for (let i = 1; i < tokens.length; i++) {
    const prev = tokens[i - 1]!.text;
    const cur = tokens[i]!.text;
    if (/^[\d.]/.test(prev) && /^[A-Za-z(]/.test(cur)) return cur;
    if (prev === ')' && /^[A-Za-z\d(]/.test(cur)) return cur;
  }
  return '';
}
