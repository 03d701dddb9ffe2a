/**
 * The tfjs-ops evaluator of a checked expression (the reference engine of the physics
 * kernel): numbers stay numbers, tensors go through tfjs ops, chosen for the wasm backend's
 * cheap kernels (ClipByValue instead of broadcast Maximum/Minimum, Square/Sqrt instead of
 * Pow, multiplication by a reciprocal instead of RealDiv).
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryFn, Node, UnaryFn } from './ir.js';
import { BINARY_F64, lookup, UNARY_F64 } from './ir.js';

export type Val = tf.Tensor | number;
export type TensorEval = (v: Readonly<Record<string, Val>>) => Val;

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

const BINARY: Record<BinaryFn, (a: Val, b: Val) => tf.Tensor> = {
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

const UNARY: Record<UnaryFn, (x: tf.Tensor) => tf.Tensor> = { neg: tf.neg, log: tf.log, exp: tf.exp, sqrt: tf.sqrt, abs: tf.abs };

// min/max against a constant run as ClipByValue, ~10x faster than broadcast Minimum/Maximum on
// wasm; ClipByValue asserts its bounds are ordered, so NaN constants take the general path.
function extremum(fn: 'min' | 'max', a: Val, b: Val): Val {
  if (isNum(a) && isNum(b)) return (fn === 'min' ? Math.min : Math.max)(a, b);
  const clipTo = (x: Val, c: number) => (fn === 'min' ? tf.clipByValue(x, -Infinity, c) : tf.clipByValue(x, c, Infinity));
  if (isNum(b) && !Number.isNaN(b)) return clipTo(a, b);
  if (isNum(a) && !Number.isNaN(a)) return clipTo(b, a);
  return fn === 'min' ? tf.minimum(a, b) : tf.maximum(a, b);
}

/** Translate a tree into a closure over tfjs ops (caller manages tidy). */
export function tensorEvaluator(n: Node): TensorEval {
  switch (n.k) {
    case 'const': {
      const v = n.v;
      return () => v;
    }
    case 'var': {
      const name = n.name;
      return (v) => {
        const x = lookup(v, name);
        return isNum(x) || x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      };
    }
    case 'unary': {
      const a = tensorEvaluator(n.a);
      const s = UNARY_F64[n.fn];
      const t = UNARY[n.fn];
      return (v) => {
        const x = a(v);
        return isNum(x) ? s(x) : t(x);
      };
    }
    case 'binary': {
      const a = tensorEvaluator(n.a);
      const b = tensorEvaluator(n.b);
      const s = BINARY_F64[n.fn];
      const t = BINARY[n.fn];
      return (v) => {
        const x = a(v);
        const y = b(v);
        return isNum(x) && isNum(y) ? s(x, y) : t(x, y);
      };
    }
    case 'extremum': {
      const args = n.args.map(tensorEvaluator);
      const fn = n.fn;
      return (v) => args.reduce<Val | null>((acc, c) => (acc === null ? c(v) : extremum(fn, acc, c(v))), null)!;
    }
    case 'clip': {
      const x = tensorEvaluator(n.x);
      const { lo, hi } = n;
      return (v) => {
        const y = x(v);
        return isNum(y) ? Math.min(Math.max(y, lo), hi) : tf.clipByValue(y, lo, hi);
      };
    }
  }
}
