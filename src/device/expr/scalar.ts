/** The float64 evaluator of a checked expression (tables, validation, tests). */
import { BINARY_F64, lookup, UNARY_F64, type Node } from './ir.js';

export type ScalarEval = (v: Readonly<Record<string, number>>) => number;

/** Translate a tree into a closure over JS numbers. */
export function scalarEvaluator(n: Node): ScalarEval {
  switch (n.k) {
    case 'const': {
      const c = n.v;
      return () => c;
    }
    case 'var': {
      const name = n.name;
      return (v) => lookup(v, name);
    }
    case 'unary': {
      const a = scalarEvaluator(n.a);
      const f = UNARY_F64[n.fn];
      return (v) => f(a(v));
    }
    case 'binary': {
      const a = scalarEvaluator(n.a);
      const b = scalarEvaluator(n.b);
      const f = BINARY_F64[n.fn];
      return (v) => f(a(v), b(v));
    }
    case 'extremum': {
      const args = n.args.map(scalarEvaluator);
      const f = n.fn === 'min' ? Math.min : Math.max;
      const start = n.fn === 'min' ? Infinity : -Infinity;
      return (v) => args.reduce((acc, c) => f(acc, c(v)), start);
    }
    case 'clip': {
      const x = scalarEvaluator(n.x);
      const { lo, hi } = n;
      return (v) => Math.min(Math.max(x(v), lo), hi);
    }
  }
}
