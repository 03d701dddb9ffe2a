/** The Adapter members that follow from an adapter's named variables alone. */
import type * as tfNs from '@tensorflow/tfjs';
import type { Adapter } from './types.js';

/** trainableVariables, parameterCount, state and load over `vars` (load assigns in place). */
export function variableMembers(vars: Map<string, tfNs.Variable>): Pick<Adapter, 'trainableVariables' | 'parameterCount' | 'state' | 'load'> {
  return {
    trainableVariables: () => [...vars.values()],
    parameterCount: () => [...vars.values()].reduce((a, v) => a + v.size, 0),
    state: () => new Map(vars),
    load: (st) => st.forEach((t, n) => vars.get(n)!.assign(t)),
  };
}
