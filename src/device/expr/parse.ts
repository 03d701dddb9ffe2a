/**
 * Parsing and the whitelist: mathjs parses the source, and one walk over its tree in source
 * order accepts only arithmetic, comparisons, the listed functions and the allowed variables,
 * producing the checked tree of ir.ts. Nothing is ever evaluated by mathjs or by eval.
 *
 * mathjs nodes carry no source positions, so the walk keeps a cursor over tokens.ts's tokens:
 * every accepted node consumes exactly its tokens, so the cursor sits on the first token of
 * whatever node is refused next.
 */
import { parse, type MathNode } from 'mathjs';
import { binary, clip, constant, extremum, unary, variable, type BinaryFn, type Node, type UnaryFn } from './ir.js';
import { CLOSERS, DECIMAL, OPENERS, tokenize, type Token } from './tokens.js';

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

function call(name: string, cs: Node[]): Node {
  switch (name) {
    case 'min':
    case 'max':
      return extremum(name, cs);
    case 'clip':
      return clip(cs[0]!, cs[1]!, cs[2]!);
    case 'pow':
      return binary('pow', cs[0]!, cs[1]!);
    default:
      return unary(name as UnaryFn, cs[0]!);
  }
}

type MNode = MathNode & Record<string, unknown>;

export class Parser {
  private readonly tokens: Token[];
  private k = 0;
  private readonly defCache = new Map<string, Node>();

  constructor(
    private readonly source: string,
    private readonly allowed: readonly string[],
    private readonly constants: Readonly<Record<string, number>>,
    private readonly defs: Readonly<Record<string, string>>,
    private readonly used: Set<string>,
  ) {
    this.tokens = tokenize(source);
  }

  parse(): Node {
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
    return this.walk(root as MNode);
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

  private walk(n: MNode): Node {
    switch (n.type) {
      case 'ConstantNode':
        return this.constantNode(n);
      case 'SymbolNode':
        return this.symbol(n.name as string);
      case 'ParenthesisNode': {
        this.take('(');
        const c = this.walk(n.content as MNode);
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

  private constantNode(n: MNode): Node {
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
    return this.fail(
      `'${tok?.text ?? String(v)}' is not allowed (only finite numbers and the variables ${this.allowedList()})`,
      this.here(),
    );
  }

  private allowedList(): string {
    return this.allowed.length ? this.allowed.join(', ') : 'none';
  }

  private symbol(name: string): Node {
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

  private def(name: string, pos: number): Node {
    const cached = this.defCache.get(name);
    if (cached) return cached;
    const src = this.defs[name]!;
    // A definition may use the others but not itself.
    const rest = Object.fromEntries(Object.entries(this.defs).filter(([k]) => k !== name));
    let c: Node;
    try {
      c = new Parser(src, this.allowed, this.constants, rest, this.used).parse();
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      return this.fail(`in ${name} = '${src}': ${e.reason} (at char ${e.position})`, pos);
    }
    this.defCache.set(name, c);
    return c;
  }

  private operator(n: MNode): Node {
    const fn = n.fn as string;
    const op = n.op as string;
    const args = n.args as MNode[];
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
      if (
        (fn === 'add' || fn === 'subtract') &&
        right.type === 'OperatorNode' &&
        right.fn === 'multiply' &&
        (right.args as MNode[])[0] === args[0]
      ) {
        const pct = (right.args as MNode[])[1]!;
        if (pct.isPercentage) this.walk(pct);
      }
      const b = this.walk(right);
      return binary(fn as BinaryFn, a, b);
    }
    return this.fail(`operator '${op}' is not allowed (${REFUSED_OPERATOR[fn] ?? fn})`, this.find([op]));
  }

  private functionCall(n: MNode): Node {
    if (n.optional) return this.fail("optional chaining '?.' is not allowed", this.find(['?.']));
    const callee = n.fn as MNode;
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
    const args = n.args as MNode[];
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
