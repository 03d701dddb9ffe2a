/**
 * The one dispatch: a kernel is declared once with a reference implementation (tfjs ops, or
 * plain JS where tfjs has no equivalent, e.g. the seeded sampler) and engine implementations.
 * Calling the kernel runs the native engine's implementation when the engine is available
 * (and the kernel's needs are met: the wasm heap for in-place kernels), else the reference.
 * Callers never branch on the engine; tests reach both sides through `def`.
 */
import { nativeEngine, type NativeEngine } from './engine.js';

/** What an engine implementation needs beyond the addon: the wasm heap (in-place tensors). */
export type KernelNeeds = 'addon' | 'heap';

export interface KernelDef<A extends unknown[], R> {
  /** Name, as listed in docs/architecture.md and the kernel tests. */
  readonly name: string;
  /** The semantics: every engine must agree with it (to the tolerance its test states). */
  readonly reference: (...args: A) => R;
  /** The native engine's implementation (same arguments, same result). */
  readonly native: (e: NativeEngine, ...args: A) => R;
  readonly needs: KernelNeeds;
}

export interface Kernel<A extends unknown[], R> {
  (...args: A): R;
  readonly def: KernelDef<A, R>;
}

const registry: KernelDef<never[], unknown>[] = [];
let referencesOnly = 0;

/** Run `fn` with every kernel on its reference (tests compare whole pipelines engine vs reference). */
export function withReferences<T>(fn: () => T): T {
  referencesOnly++;
  try {
    return fn();
  } finally {
    referencesOnly--;
  }
}

/** Declare a kernel: returns the dispatching function (registered in the kernel list). */
export function defineKernel<A extends unknown[], R>(def: KernelDef<A, R>): Kernel<A, R> {
  registry.push(def as unknown as KernelDef<never[], unknown>);
  const run = (...args: A): R => {
    const e = referencesOnly ? null : nativeEngine();
    if (e && (def.needs === 'addon' || e.heap)) return def.native(e, ...args);
    return def.reference(...args);
  };
  return Object.assign(run, { def });
}

/** Every kernel declared so far (the kernel tests check each has an engine comparison). */
export function kernelDefs(): readonly { name: string; needs: KernelNeeds }[] {
  return registry;
}
