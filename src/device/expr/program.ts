/**
 * The postfix program of a checked expression, for the native engine's evaluator
 * (native/expr.cc): [opcode, argument] pairs in a Float64Array; VAR's argument indexes the
 * variable list. Binary ops pop b then a and push f(a, b); unary ops replace the top.
 */
import type { BinaryFn, Node, UnaryFn } from './ir.js';

/** Opcodes; keep in sync with native/expr.cc. */
export const OP = {
  VAR: 0,
  CONST: 1,
  ADD: 2,
  SUB: 3,
  MUL: 4,
  DIV: 5,
  POW: 6,
  LT: 7,
  LE: 8,
  GT: 9,
  GE: 10,
  EQ: 11,
  NE: 12,
  MIN: 13,
  MAX: 14,
  NEG: 20,
  LOG: 21,
  EXP: 22,
  SQRT: 23,
  ABS: 24,
  SQUARE: 25,
} as const;

const BINARY_OP: Record<BinaryFn, number> = {
  add: OP.ADD,
  subtract: OP.SUB,
  multiply: OP.MUL,
  divide: OP.DIV,
  pow: OP.POW,
  smaller: OP.LT,
  smallerEq: OP.LE,
  larger: OP.GT,
  largerEq: OP.GE,
  equal: OP.EQ,
  unequal: OP.NE,
};
const UNARY_OP: Record<UnaryFn, number> = { neg: OP.NEG, log: OP.LOG, exp: OP.EXP, sqrt: OP.SQRT, abs: OP.ABS };

function emit(n: Node, variables: readonly string[], out: number[]): void {
  switch (n.k) {
    case 'const':
      out.push(OP.CONST, n.v);
      return;
    case 'var':
      out.push(OP.VAR, variables.indexOf(n.name));
      return;
    case 'unary':
      emit(n.a, variables, out);
      out.push(UNARY_OP[n.fn], 0);
      return;
    case 'binary':
      emit(n.a, variables, out);
      if (n.fn === 'pow' && n.b.k === 'const' && n.b.v === 2) {
        out.push(OP.SQUARE, 0);
        return;
      }
      emit(n.b, variables, out);
      out.push(BINARY_OP[n.fn], 0);
      return;
    case 'extremum': {
      const op = n.fn === 'min' ? OP.MIN : OP.MAX;
      emit(n.args[0]!, variables, out);
      for (const a of n.args.slice(1)) {
        emit(a, variables, out);
        out.push(op, 0);
      }
      return;
    }
    case 'clip':
      emit(n.x, variables, out);
      out.push(OP.CONST, n.lo, OP.MAX, 0, OP.CONST, n.hi, OP.MIN, 0);
      return;
  }
}

/** The program of a tree over `variables` (indexes follow that order) and its stack depth. */
export function postfixProgram(n: Node, variables: readonly string[]): { program: Float64Array; stackDepth: number } {
  const code: number[] = [];
  emit(n, variables, code);
  let depth = 0;
  let max = 0;
  for (let i = 0; i < code.length; i += 2) {
    const op = code[i]!;
    if (op === OP.VAR || op === OP.CONST) depth++;
    else if (op < 20) depth--;
    max = Math.max(max, depth);
  }
  return { program: Float64Array.from(code), stackDepth: max };
}
