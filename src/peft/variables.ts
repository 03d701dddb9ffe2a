/** The Adapter members that follow from an adapter's named variables alone. */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter, Placement } from './types.js';

/** trainableVariables, parameterCount, state and load over `vars` (load assigns in place). */
export function variableMembers(
  vars: Map<string, tfNs.Variable>,
): Pick<Adapter, 'trainableVariables' | 'parameterCount' | 'state' | 'load'> {
  return {
    trainableVariables: () => [...vars.values()],
    parameterCount: () => [...vars.values()].reduce((a, v) => a + v.size, 0),
    state: () => new Map(vars),
    load: (st) => st.forEach((t, n) => vars.get(n)!.assign(t)),
  };
}

/** variableMembers plus dispose, for variables the adapter created itself (and so frees). */
export function ownedVariableMembers(
  vars: Map<string, tfNs.Variable>,
): Pick<Adapter, 'trainableVariables' | 'parameterCount' | 'state' | 'load' | 'dispose'> {
  return { ...variableMembers(vars), dispose: () => vars.forEach((v) => v.dispose()) };
}

/**
 * An adapter with no hooks that trains base parameters in place (`vars`, the base model's own
 * variables: the adapter file stores their new values), or nothing at all when `vars` is empty.
 * Nothing of its own to free.
 */
export function inPlaceAdapter(placement: Placement, vars: Map<string, tfNs.Variable> = new Map()): Adapter {
  return { placement, hooks: new Map(), ...variableMembers(vars), dispose: () => {} };
}
