/**
 * The checked expression as a small tree, built with the folding rules every evaluator
 * shares: constant subtrees are folded (float64), identities that would cost a pass over the
 * data are dropped (x·1, x/1, x^1, x+0, x−0, 1·x, 0+x), min/max fold their constant
 * arguments into one. The evaluators (tensor.ts, scalar.ts, program.ts) only translate.
 */

export type UnaryFn = 'neg' | 'log' | 'exp' | 'sqrt' | 'abs';
export type BinaryFn =
  'add' | 'subtract' | 'multiply' | 'divide' | 'pow' | 'smaller' | 'smallerEq' | 'larger' | 'largerEq' | 'equal' | 'unequal';

export type Node =
  | { readonly k: 'const'; readonly v: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'unary'; readonly fn: UnaryFn; readonly a: Node }
  | { readonly k: 'binary'; readonly fn: BinaryFn; readonly a: Node; readonly b: Node }
  /** Left fold of min or max over ≥ 2 arguments, in this order. */
  | { readonly k: 'extremum'; readonly fn: 'min' | 'max'; readonly args: readonly Node[] }
  /** min(max(x, lo), hi) with constant lo <= hi. */
  | { readonly k: 'clip'; readonly x: Node; readonly lo: number; readonly hi: number };

/** Float64 semantics of the unary functions (also what constant folding uses). */
export const UNARY_F64: Record<UnaryFn, (x: number) => number> = {
  neg: (x) => -x,
  log: Math.log,
  exp: Math.exp,
  sqrt: Math.sqrt,
  abs: Math.abs,
};

/** Float64 semantics of the binary operators; comparisons give 1 or 0. */
export const BINARY_F64: Record<BinaryFn, (a: number, b: number) => number> = {
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

/** The node's value when it is a constant, else null. */
export function constantOf(n: Node): number | null {
  return n.k === 'const' ? n.v : null;
}

export function constant(v: number): Node {
  return { k: 'const', v };
}

export function variable(name: string): Node {
  return { k: 'var', name };
}

export function unary(fn: UnaryFn, a: Node): Node {
  const c = constantOf(a);
  return c !== null ? constant(UNARY_F64[fn](c)) : { k: 'unary', fn, a };
}

export function binary(fn: BinaryFn, a: Node, b: Node): Node {
  const ca = constantOf(a);
  const cb = constantOf(b);
  if (ca !== null && cb !== null) return constant(BINARY_F64[fn](ca, cb));
  // Identities cost a full pass over the data each.
  if (cb === 1 && (fn === 'multiply' || fn === 'divide' || fn === 'pow')) return a;
  if (ca === 1 && fn === 'multiply') return b;
  if (cb === 0 && (fn === 'add' || fn === 'subtract')) return a;
  if (ca === 0 && fn === 'add') return b;
  return { k: 'binary', fn, a, b };
}

/** n-ary min/max: the constant arguments fold into one, placed last. */
export function extremum(fn: 'min' | 'max', args: readonly Node[]): Node {
  const f = fn === 'min' ? Math.min : Math.max;
  const consts = args.map(constantOf).filter((c): c is number => c !== null);
  const parts = args.filter((a) => constantOf(a) === null);
  if (consts.length) parts.push(constant(f(...consts)));
  return parts.length === 1 ? parts[0]! : { k: 'extremum', fn, args: parts };
}

/** Binary min/max keeping the argument order (clip's definition fixes it). */
export function extremumPair(fn: 'min' | 'max', a: Node, b: Node): Node {
  const ca = constantOf(a);
  const cb = constantOf(b);
  if (ca !== null && cb !== null) return constant((fn === 'min' ? Math.min : Math.max)(ca, cb));
  return { k: 'extremum', fn, args: [a, b] };
}

/** clip(x, lo, hi) = min(max(x, lo), hi), whatever the order of the bounds. */
export function clip(x: Node, lo: Node, hi: Node): Node {
  const l = constantOf(lo);
  const h = constantOf(hi);
  if (l !== null && h !== null && l <= h) {
    const c = constantOf(x);
    return c !== null ? constant(Math.min(Math.max(c, l), h)) : { k: 'clip', x, lo: l, hi: h };
  }
  return extremumPair('min', extremumPair('max', x, lo), hi);
}

/** Replace variables by constants (re-folding what becomes constant). */
export function substitute(n: Node, values: Readonly<Record<string, number>>, memo = new Map<Node, Node>()): Node {
  const hit = memo.get(n);
  if (hit) return hit;
  const sub = (m: Node) => substitute(m, values, memo);
  let out: Node;
  switch (n.k) {
    case 'const':
      out = n;
      break;
    case 'var':
      out = n.name in values ? constant(values[n.name]!) : n;
      break;
    case 'unary':
      out = unary(n.fn, sub(n.a));
      break;
    case 'binary':
      out = binary(n.fn, sub(n.a), sub(n.b));
      break;
    case 'extremum':
      out = n.args.length === 2 ? extremumPair(n.fn, sub(n.args[0]!), sub(n.args[1]!)) : extremum(n.fn, n.args.map(sub));
      break;
    case 'clip':
      out = clip(sub(n.x), constant(n.lo), constant(n.hi));
      break;
  }
  memo.set(n, out);
  return out;
}

/** The variables a tree reads, sorted. */
export function variablesOf(n: Node, acc = new Set<string>()): string[] {
  switch (n.k) {
    case 'var':
      acc.add(n.name);
      break;
    case 'unary':
      variablesOf(n.a, acc);
      break;
    case 'binary':
      variablesOf(n.a, acc);
      variablesOf(n.b, acc);
      break;
    case 'extremum':
      n.args.forEach((a) => variablesOf(a, acc));
      break;
    case 'clip':
      variablesOf(n.x, acc);
      break;
  }
  return [...acc].sort();
}

/** The value of variable `name` in `vars`; throws when the caller did not provide it. */
export function lookup<T>(vars: Readonly<Record<string, T>>, name: string): T {
  const x = vars[name];
  if (x === undefined) throw new Error(`variable '${name}' was not provided`);
  return x;
}
