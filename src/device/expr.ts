/**
 * The expression language of device profiles. By job:
 *   expr/tokens.ts, expr/parse.ts  parse with mathjs, check against the whitelist → tree
 *   expr/ir.ts                     the checked tree and the folding rules all evaluators share
 *   expr/tensor.ts                 tfjs-ops evaluator (the physics kernel's reference)
 *   expr/scalar.ts                 float64 evaluator (tables, validation)
 *   expr/program.ts                postfix program for the native engine
 * Nothing is ever evaluated by mathjs or by eval: an expression can only compute arithmetic
 * on the variables its field allows.
 */
import * as tf from '@tensorflow/tfjs';
import { ExprError, Parser } from './expr/parse.js';
import { constant, substitute, variablesOf, type Node } from './expr/ir.js';
import { tensorEvaluator } from './expr/tensor.js';
import { scalarEvaluator } from './expr/scalar.js';
import { postfixProgram } from './expr/program.js';
import type { ElementwiseProgram } from '../tensor/kernels/index.js';

export { ExprError } from './expr/parse.js';
export { OP } from './expr/program.js';

export interface CompiledExpr extends ElementwiseProgram {
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
  /** The same expression with some variables fixed (folded as if written as numbers). */
  bind(values: Readonly<Record<string, number>>): CompiledExpr;
}

export interface CompileOptions {
  /** Allowed variables fixed at compile time: folded like literals, not listed in `variables`. */
  constants?: Readonly<Record<string, number>>;
  /**
   * Allowed variables defined by other expressions (e.g. r = 'g / gMax'), inlined. Their
   * errors are reported at the variable's position in the outer expression.
   */
  defs?: Readonly<Record<string, string | number>>;
}

/** Compile an expression (string or number) over the allowed variable names; throws ExprError. */
export function compileExpr(source: string | number, allowed: readonly string[], opts: CompileOptions = {}): CompiledExpr {
  if (typeof source === 'number') {
    if (!Number.isFinite(source)) throw new ExprError(`expected a finite number, got ${source}`, String(source), 0);
    return fromTree(String(source), constant(source));
  }
  if (typeof source !== 'string') {
    throw new ExprError(`expected an expression string or a number, got ${source === null ? 'null' : typeof source}`, String(source), 0);
  }
  if (source.trim() === '') throw new ExprError('empty expression', source, 0);
  const defs = Object.fromEntries(Object.entries(opts.defs ?? {}).map(([k, v]) => [k, String(v)]));
  return fromTree(source, new Parser(source, allowed, opts.constants ?? {}, defs, new Set()).parse());
}

/** The evaluators of a checked tree. */
function fromTree(source: string, root: Node): CompiledExpr {
  if (root.k === 'const') {
    const v = root.v;
    return {
      source,
      variables: [],
      isConstant: true,
      tensor: () => tf.scalar(v, 'float32'),
      scalar: () => v,
      program: Float64Array.of(1, v),
      stackDepth: 1,
      bind: function () {
        return this;
      },
    };
  }
  const variables = variablesOf(root);
  const { program, stackDepth } = postfixProgram(root, variables);
  const t = tensorEvaluator(root);
  return {
    source,
    variables,
    isConstant: false,
    program,
    stackDepth,
    tensor: (vars) => {
      const r = t(vars);
      if (typeof r === 'number') return tf.scalar(r, 'float32');
      // The result may be an input (e.g. 'r', '(r)', 'r * 1'); the caller owns the result, not the input.
      for (const k in vars) if (vars[k] === r) return tf.clone(r);
      return r;
    },
    scalar: scalarEvaluator(root),
    bind: (values) => fromTree(source, substitute(root, values)),
  };
}
