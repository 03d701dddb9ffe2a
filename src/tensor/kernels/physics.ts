/**
 * Elementwise evaluation of a compiled expression (a device physics stage): the reference is
 * the expression's own tfjs-ops evaluator; the native engine runs its postfix program over
 * 512-element chunks in float64 split over the pool, rounding once to float32 (so the two
 * agree to float32 rounding, not bit for bit).
 */
import * as tf from '@tensorflow/tfjs';
import { heapTensor, type NativeEngine } from './engine.js';
import { defineKernel } from './kernel.js';

/** What the kernel needs of a compiled expression (src/device/expr compiles them). */
export interface ElementwiseProgram {
  /** Variables the program reads, in the order its VAR opcodes index them. */
  readonly variables: readonly string[];
  readonly isConstant: boolean;
  /** Postfix program (opcode, argument pairs; see native/expr.cc) and its stack depth. */
  readonly program: Float64Array;
  readonly stackDepth: number;
  /** The same expression as tfjs ops (caller manages tidy). */
  tensor(vars: Readonly<Record<string, tf.Tensor | number>>): tf.Tensor;
}

function reference(e: ElementwiseProgram, vars: Readonly<Record<string, tf.Tensor>>, shape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const t = e.tensor(vars);
    return t.shape.length === shape.length ? t : tf.broadcastTo(t, shape);
  });
}

function native(en: NativeEngine, e: ElementwiseProgram, vars: Readonly<Record<string, tf.Tensor>>, shape: number[]): tf.Tensor {
  if (e.isConstant) return reference(e, vars, shape);
  const h = en.heap!;
  const out = heapTensor(h, shape);
  // Views after the allocation (it may grow the heap).
  const arrays = e.variables.map((name) => h.typedArrayFromHeap(vars[name]!));
  en.lib.evalExpr(e.program, e.stackDepth, arrays, h.typedArrayFromHeap(out));
  return out;
}

/** Evaluate `e` elementwise over `vars` (tensors of `shape`, or of one element) into a tensor of `shape`. */
export const evalElementwise = defineKernel({ name: 'evalElementwise', needs: 'heap', reference, native });
