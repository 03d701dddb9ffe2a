import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { compileExpr, ExprError } from '../../src/device/expr.js';
import { initBackend } from '../../src/tensor/backend.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** A random expression tree rendered to source, with its own float64 evaluator. */
interface Gen {
  src: string;
  f: (v: { g: number; r: number }) => number;
}

function randomExpr(rng: () => number, depth: number): Gen {
  const leaf = (): Gen => {
    const k = rng();
    if (k < 0.35) return { src: 'g', f: (v) => v.g };
    if (k < 0.7) return { src: 'r', f: (v) => v.r };
    const c = Math.round((rng() * 4 - 2) * 1000) / 1000;
    return c < 0 ? { src: `(${c})`, f: () => c } : { src: String(c), f: () => c };
  };
  if (depth <= 0 || rng() < 0.2) return leaf();
  const a = randomExpr(rng, depth - 1);
  const b = randomExpr(rng, depth - 1);
  // Positive, bounded argument for log/sqrt/pow so every tree is defined.
  const pos = (x: Gen): Gen => ({ src: `(abs(${x.src}) + 0.1)`, f: (v) => Math.abs(x.f(v)) + 0.1 });
  const ops: (() => Gen)[] = [
    () => ({ src: `(${a.src} + ${b.src})`, f: (v) => a.f(v) + b.f(v) }),
    () => ({ src: `(${a.src} - ${b.src})`, f: (v) => a.f(v) - b.f(v) }),
    () => ({ src: `(${a.src} * ${b.src})`, f: (v) => a.f(v) * b.f(v) }),
    () => ({ src: `${a.src} / ${pos(b).src}`, f: (v) => a.f(v) / pos(b).f(v) }),
    () => ({ src: `${pos(a).src}^1.5`, f: (v) => pos(a).f(v) ** 1.5 }),
    () => ({ src: `${pos(a).src}^2`, f: (v) => pos(a).f(v) ** 2 }),
    () => ({ src: `-${a.src}`, f: (v) => -a.f(v) }),
    () => ({ src: `(${a.src} < ${b.src})`, f: (v) => +(a.f(v) < b.f(v)) }),
    () => ({ src: `(${a.src} >= ${b.src})`, f: (v) => +(a.f(v) >= b.f(v)) }),
    () => ({ src: `log(${pos(a).src})`, f: (v) => Math.log(pos(a).f(v)) }),
    () => ({ src: `exp(clip(${a.src}, -3, 3))`, f: (v) => Math.exp(Math.min(Math.max(a.f(v), -3), 3)) }),
    () => ({ src: `sqrt(${pos(a).src})`, f: (v) => Math.sqrt(pos(a).f(v)) }),
    () => ({ src: `abs(${a.src})`, f: (v) => Math.abs(a.f(v)) }),
    () => ({ src: `min(${a.src}, ${b.src}, 0.5)`, f: (v) => Math.min(a.f(v), b.f(v), 0.5) }),
    () => ({ src: `max(${a.src}, ${b.src})`, f: (v) => Math.max(a.f(v), b.f(v)) }),
    () => ({ src: `clip(${a.src}, -1, 1)`, f: (v) => Math.min(Math.max(a.f(v), -1), 1) }),
    () => ({ src: `pow(${pos(a).src}, 0.65)`, f: (v) => pos(a).f(v) ** 0.65 }),
  ];
  return ops[Math.floor(rng() * ops.length)]!();
}

describe('expression compiler agrees with plain arithmetic', () => {
  it('on 300 random expressions, as scalars and as tensors', () => {
    const rng = seedrandom('expr-fuzz');
    const n = 64;
    for (let e = 0; e < 300; e++) {
      const gen = randomExpr(rng, 4);
      const c = compileExpr(gen.src, ['g', 'r', 'gMax', 'gMin']);
      const gs = Float32Array.from({ length: n }, () => rng() * 25);
      const rs = Float32Array.from(gs, (g) => Math.fround(g / 25));
      const out = tf.tidy(() => c.tensor({ g: tf.tensor1d(gs), r: tf.tensor1d(rs), gMax: 25, gMin: 0 }).dataSync());
      for (let i = 0; i < n; i++) {
        const v = { g: gs[i]!, r: rs[i]! };
        const want = gen.f(v);
        expect(c.scalar({ ...v, gMax: 25, gMin: 0 }), gen.src).toBeCloseTo(want, 9);
        // Float32 evaluation; comparisons at near-ties may flip, so allow a rare flip.
        const got = out.length === 1 ? out[0]! : out[i]!;
        const tol = 1e-3 * Math.abs(want) + 1e-4;
        if (Math.abs(got - want) > tol) {
          expect(/[<>]/.test(gen.src), `${gen.src} at g=${v.g}: ${got} vs ${want}`).toBe(true);
        }
      }
    }
  });

  it('the built-in profile expressions give the published numbers', () => {
    const pcm = compileExpr('(0.26348 + 1.9650*r - 1.1731*r^2) * gMax / 25', ['g', 'r', 'gMax', 'gMin']);
    expect(pcm.scalar({ g: 12.5, r: 0.5, gMax: 25, gMin: 0 })).toBeCloseTo(0.26348 + 1.965 * 0.5 - 1.1731 * 0.25, 12);
    const nu = compileExpr('clip(-0.0155*log(max(r, 1e-7)) + 0.0244, 0.049, 0.1)', ['r']);
    for (const r of [0, 1e-9, 0.01, 0.1, 0.5, 1]) {
      expect(nu.scalar({ r })).toBeCloseTo(Math.min(Math.max(-0.0155 * Math.log(Math.max(r, 1e-7)) + 0.0244, 0.049), 0.1), 12);
    }
    const branch = compileExpr('(r < 0.0945) * clip(-0.0387*log(max(r,1e-7)) - 0.0182, 0.072, 0.13) + (r >= 0.0945) * (-0.0436*r^2 - 0.0126*r + 0.0736)', ['r']);
    expect(branch.scalar({ r: 0.05 })).toBeCloseTo(Math.min(Math.max(-0.0387 * Math.log(0.05) - 0.0182, 0.072), 0.13), 12);
    expect(branch.scalar({ r: 0.5 })).toBeCloseTo(-0.0436 * 0.25 - 0.0126 * 0.5 + 0.0736, 12);
    const t = tf.tidy(() => branch.tensor({ r: tf.tensor1d([0.05, 0.5]) }).dataSync());
    expect(t[0]).toBeCloseTo(branch.scalar({ r: 0.05 }), 6);
    expect(t[1]).toBeCloseTo(branch.scalar({ r: 0.5 }), 6);
  });

  it('accepts numbers and reports constants and variables', () => {
    const c = compileExpr(0.06, []);
    expect(c.isConstant).toBe(true);
    expect(c.scalar({})).toBe(0.06);
    const d = compileExpr('2 * 3 + 1', []);
    expect(d.isConstant).toBe(true);
    expect(d.scalar({})).toBe(7);
    const e = compileExpr('gMax * r + r', ['g', 'r', 'gMax', 'gMin']);
    expect(e.isConstant).toBe(false);
    expect(e.variables).toEqual(['gMax', 'r']);
  });
});

// [source, expected message fragment, expected 0-based position]
const FORBIDDEN: [string, RegExp, number][] = [
  ['a = 1', /assignments are not allowed/, 2],
  ['f(x) = x^2', /function definitions are not allowed/, 0],
  ['r.value', /property or index access is not allowed/, 1],
  ['r[1]', /not allowed/, 1],
  ['"text"', /strings are not allowed/, 0],
  ['r + "x"', /strings are not allowed/, 4],
  ['[1, 2]', /matrices and arrays are not allowed/, 0],
  ['{a: 1}', /objects are not allowed/, 0],
  ['1:3', /ranges are not allowed/, 1],
  ['1; 2', /multiple statements are not allowed/, 1],
  ['r > 0 ? 1 : 2', /conditionals/, 6],
  ['r!', /operator '!' is not allowed/, 1],
  ["r'", /not allowed/, 1],
  ['r mod 2', /operator 'mod' is not allowed/, 2],
  ['r % 2', /operator '%' is not allowed/, 2],
  ['r & 1', /operator '&' is not allowed/, 2],
  ['r and 1', /operator 'and' is not allowed/, 2],
  ['not r', /operator 'not' is not allowed/, 0],
  ['2r', /implicit multiplication is not allowed \(write \* explicitly\)/, 1],
  ['2 r', /implicit multiplication is not allowed/, 2],
  ['5 cm', /unknown name 'cm'|implicit multiplication/, 2],
  ['foo + 1', /unknown name 'foo' \(allowed: g, r\)/, 0],
  ['g*2 + foo', /unknown name 'foo'/, 6],
  ['r + import(1)', /function 'import' is not allowed/, 4],
  ['evaluate("1+1")', /function 'evaluate' is not allowed/, 0],
  ['parse("1")', /function 'parse' is not allowed/, 0],
  ['createUnit("foo")', /function 'createUnit' is not allowed/, 0],
  ['r + compile("1")', /function 'compile' is not allowed/, 4],
  ['simplify("r")', /function 'simplify' is not allowed/, 0],
  ['pi * r', /unknown name 'pi'/, 0],
  ['e^r', /unknown name 'e'/, 0],
  ['sin(r)', /function 'sin' is not allowed/, 0],
  ['log(r, 10)', /log\(\) takes 1 argument/, 0],
  ['clip(r, 1)', /clip\(\) takes 3 argument/, 0],
  ['min(r)', /min\(\) takes at least 2 argument/, 0],
  ['0 < r < 1', /chained comparisons are not allowed/, 6],
  ['r +', /syntax error/, 3],
  ['', /empty expression/, 0],
];

describe('expression compiler refuses everything outside the whitelist', () => {
  for (const [src, message, position] of FORBIDDEN) {
    it(JSON.stringify(src), () => {
      let err: unknown;
      try {
        compileExpr(src, ['g', 'r']);
      } catch (e) {
        err = e;
      }
      expect(err, `${src} was accepted`).toBeInstanceOf(ExprError);
      const x = err as ExprError;
      expect(x.message).toMatch(message);
      expect(x.position).toBe(position);
      expect(x.message.startsWith(`at char ${position}:`)).toBe(true);
    });
  }

  it('refuses non-finite numbers and non-string sources', () => {
    expect(() => compileExpr(Infinity, [])).toThrow(ExprError);
    expect(() => compileExpr(null as unknown as string, [])).toThrow(/expected an expression string or a number/);
  });
});

import { nativeAddon } from '../../src/tensor/native.js';

describe.runIf(nativeAddon() !== null)('native evaluator of compiled programs', () => {
  it('agrees with the float64 scalar evaluator on 300 random expressions', () => {
    const rng = seedrandom('expr-native');
    const n = 2000; // > one chunk, so chunking and the thread split are exercised
    for (let e = 0; e < 300; e++) {
      const gen = randomExpr(rng, 4);
      const c = compileExpr(gen.src, ['g', 'r', 'gMax', 'gMin'], { constants: { gMax: 25, gMin: 0 } });
      const gs = Float32Array.from({ length: n }, () => rng() * 25);
      const rs = Float32Array.from(gs, (g) => Math.fround(g / 25));
      const out = new Float32Array(n);
      const vars = c.variables.map((v) => (v === 'g' ? gs : rs));
      nativeAddon()!.evalExpr(c.program, c.stackDepth, vars, out);
      for (let i = 0; i < n; i += 97) {
        const want = Math.fround(c.scalar({ g: gs[i]!, r: rs[i]!, gMax: 25, gMin: 0 }));
        expect(Math.abs(out[i]! - want), `${gen.src} at g=${gs[i]}`).toBeLessThanOrEqual(Math.abs(want) * 1e-6 + 1e-30);
      }
    }
  });

  it('refuses malformed programs instead of reading out of bounds', () => {
    const out = new Float32Array(4);
    expect(() => nativeAddon()!.evalExpr(Float64Array.of(0, 3), 1, [new Float32Array(4)], out)).toThrow(/malformed program/);
    expect(() => nativeAddon()!.evalExpr(Float64Array.of(1, 2, 2, 0), 2, [], out)).toThrow(/malformed program/);
    expect(() => nativeAddon()!.evalExpr(Float64Array.of(1, 2, 1, 3), 2, [], out)).toThrow(/one value/);
  });

  it('constants and derived variables fold into the program', () => {
    const c = compileExpr('(0.26348 + 1.9650*r - 1.1731*r^2) * gMax / 25', ['g', 'r', 'gMax', 'gMin'], { constants: { gMax: 25, gMin: 0 }, defs: { r: 'g / gMax' } });
    expect(c.variables).toEqual(['g']);
    expect(c.scalar({ g: 12.5 })).toBeCloseTo(0.26348 + 1.965 * 0.5 - 1.1731 * 0.25, 12);
  });
});
