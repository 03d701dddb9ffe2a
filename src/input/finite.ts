/**
 * Run-time finiteness: a NaN or infinity produced by a device, a tile or a model stops the
 * run with a message saying where — never an accuracy computed from NaN with exit code 0.
 */

/** A non-finite value produced during a run; `where` grows as the error passes up (device, site, time, trial). */
export class NonFiniteError extends Error {
  constructor(
    readonly where: string[],
    readonly what: string,
  ) {
    super(`${[...where].reverse().join(', ')}: ${what}`);
    this.name = 'NonFiniteError';
  }

  /** The same error with one more outer context (e.g. the site around a tile's problem). */
  within(context: string): NonFiniteError {
    return new NonFiniteError([...this.where, context], this.what);
  }
}

/** Add `context` to a NonFiniteError passing through; other errors pass unchanged. */
export function withContext<T>(context: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NonFiniteError) throw e.within(context);
    throw e;
  }
}

/** Throw unless every value is finite: `what` names the quantity (e.g. 'conductances'). */
export function assertFinite(values: ArrayLike<number>, what: string, where: string[] = []): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      let bad = 0;
      for (let j = i; j < values.length; j++) if (!Number.isFinite(values[j]!)) bad++;
      throw new NonFiniteError(where, `${bad} of ${values.length} ${what} are not finite (first: #${i} = ${values[i]})`);
    }
  }
}
