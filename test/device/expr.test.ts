import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { compileExpr, ExprError, type CompiledExpr } from '../../src/device/expr.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

import { randomExpr, U, VARS, type Ev, type Gen, type Vals } from '../helpers/random-expr.js';

/** Relative scalar agreement; exactly equal (incl. 0 and NaN) passes. */
function closeRel(got: number, want: number, rel: number): boolean {
  return Object.is(got, want) || got === want || Math.abs(got - want) <= rel * Math.abs(want);
}

describe('expression compiler agrees with plain arithmetic', () => {
  it('on 300 random expressions, as scalars (float64) and as tensors (float32)', () => {
    const rng = seedrandom('expr-fuzz');
    const n = 48;
    const kinds = new Map<string, number>();
    let samples = 0;
    let tight = 0;
    for (let e = 0; e < 300; e++) {
      const gen = randomExpr(rng, 4);
      for (const k of gen.kinds) kinds.set(k, (kinds.get(k) ?? 0) + 1);
      const c = compileExpr(gen.src, VARS);
      // Inputs exactly representable in float32, so both paths see the same values.
      const gs = Float32Array.from({ length: n }, () => rng() * 3);
      const rs = Float32Array.from(gs, (g) => Math.fround(g / 3));
      const out = tf.tidy(() => c.tensor({ g: tf.tensor1d(gs), r: tf.tensor1d(rs) }).dataSync());
      for (let i = 0; i < n; i++) {
        const v = { g: gs[i]!, r: rs[i]! };
        const want = gen.ev(v);
        expect(Number.isFinite(want.x), gen.src).toBe(true);
        const s = c.scalar(v);
        if (!closeRel(s, want.x, 1e-12)) expect.fail(`${gen.src} at g=${v.g}: scalar ${s} vs ${want.x}`);
        const got = out.length === 1 ? out[0]! : out[i]!;
        const base = 1e-4 * Math.abs(want.x) + 1e-6;
        samples++;
        if (4 * want.e <= base) tight++;
        if (!(Math.abs(got - want.x) <= base + 4 * want.e)) {
          expect.fail(`${gen.src} at g=${v.g}: tensor ${got} vs ${want.x} (float32 bound ${want.e})`);
        }
      }
    }
    // The error bound must not make the tensor check vacuous: most samples use the plain tolerance.
    expect(tight / samples).toBeGreaterThan(0.85);
    for (const k of ['var', 'number', '+', '-', '*', '/', '^', '^2', '^3', 'pow', 'neg', 'plus', '<', '<=', '>', '>=', '==', '!=', 'log', 'exp', 'sqrt', 'abs', 'min', 'max', 'clip']) {
      expect(kinds.get(k) ?? 0, `construct ${k} generated`).toBeGreaterThanOrEqual(10);
    }
  });

  const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
  const EXAMPLES: [string, string[], (v: Record<string, number>) => number][] = [
    ['0.26348 + 1.9650*r - 1.1731*r^2', ['g', 'r', 'gMax', 'gMin'], ({ r }) => 0.26348 + 1.965 * r! - 1.1731 * r! * r!],
    ['clip(-0.0155*log(max(r, 1e-7)) + 0.0244, 0.049, 0.1)', ['r'], ({ r }) => clip(-0.0155 * Math.log(Math.max(r!, 1e-7)) + 0.0244, 0.049, 0.1)],
    [
      '(r < 0.0945) * clip(-0.0387*log(max(r,1e-7)) - 0.0182, 0.072, 0.13) + (r >= 0.0945) * (-0.0436*r^2 - 0.0126*r + 0.0736)',
      ['r'],
      ({ r }) => (r! < 0.0945 ? clip(-0.0387 * Math.log(Math.max(r!, 1e-7)) - 0.0182, 0.072, 0.13) : -0.0436 * r! * r! - 0.0126 * r! + 0.0736),
    ],
  ];
  for (const [src, allowed, f] of EXAMPLES) {
    it(`profile expression ${src.slice(0, 40)}…`, () => {
      const c = compileExpr(src, allowed);
      expect(c.variables).toEqual(['r']);
      expect(c.isConstant).toBe(false);
      // Points on both sides of every kink: the log clamp, the clip bounds, the branch at 0.0945.
      // Not 0.0945 itself: its float32 rounding ties with the float32 threshold, a float64 vs float32 question.
      const rs = [0, 1e-9, 1e-7, 0.001, 0.01, 0.05, 0.0944, 0.0946, 0.2, 0.5, 0.9, 1];
      const out = tf.tidy(() => c.tensor({ r: tf.tensor1d(rs) }).dataSync());
      rs.forEach((r, i) => {
        const want = f({ r: Math.fround(r) });
        expect(c.scalar({ r: Math.fround(r) }), `r=${r}`).toBeCloseTo(want, 12);
        expect(Math.abs(out[i]! - want), `r=${r}`).toBeLessThanOrEqual(1e-4 * Math.abs(want) + 1e-6);
      });
    });
  }

  it('the piecewise example really switches branch at 0.0945', () => {
    const c = compileExpr(EXAMPLES[2]![0], ['r']);
    expect(c.scalar({ r: 0.0944 })).toBeCloseTo(clip(-0.0387 * Math.log(0.0944) - 0.0182, 0.072, 0.13), 12);
    expect(c.scalar({ r: 0.0945 })).toBeCloseTo(-0.0436 * 0.0945 ** 2 - 0.0126 * 0.0945 + 0.0736, 12);
  });
});

describe('compiled results', () => {
  it('accepts numbers as source', () => {
    const c = compileExpr(0.06, []);
    expect(c.source).toBe('0.06');
    expect(c.isConstant).toBe(true);
    expect(c.variables).toEqual([]);
    expect(c.scalar({})).toBe(0.06);
    const t = c.tensor({});
    expect(t.dtype).toBe('float32');
    expect(t.dataSync()[0]).toBeCloseTo(0.06, 7);
    t.dispose();
    expect(compileExpr(-2.5e-3, ['r']).scalar({ r: 1 })).toBe(-2.5e-3);
  });

  it('folds constant expressions and lists exactly the variables used, sorted', () => {
    const d = compileExpr('2 * 3 + 1', []);
    expect(d.isConstant).toBe(true);
    expect(d.scalar({})).toBe(7);
    const e = compileExpr('gMax * r + r', ['g', 'r', 'gMax', 'gMin']);
    expect(e.isConstant).toBe(false);
    expect(e.variables).toEqual(['gMax', 'r']);
    expect(e.source).toBe('gMax * r + r');
    expect(compileExpr('max(1, 2, exp(0)) - log(1)', ['r']).isConstant).toBe(true);
    expect(compileExpr('max(1, 2, exp(0)) - log(1)', ['r']).scalar({})).toBe(2);
  });

  it('tensor() returns float32, broadcasts, mixes numbers and tensors, accepts newlines inside brackets', () => {
    const c = compileExpr('(g +\n r) < 1', ['g', 'r']);
    tf.tidy(() => {
      const t = c.tensor({ g: tf.tensor2d([[0], [0.5]]), r: tf.tensor2d([[0.2, 0.7]]) });
      expect(t.dtype).toBe('float32');
      expect(t.shape).toEqual([2, 2]);
      expect(Array.from(t.dataSync())).toEqual([1, 1, 1, 0]);
      const u = c.tensor({ g: 0.5, r: tf.tensor1d([0.2, 0.7]) });
      expect(Array.from(u.dataSync())).toEqual([1, 0]);
      const w = compileExpr('r * 2', ['r']).tensor({ r: tf.tensor1d([1, 2], 'int32') });
      expect(w.dtype).toBe('float32');
      expect(Array.from(w.dataSync())).toEqual([2, 4]);
      expect(compileExpr('r * 2', ['r']).tensor({ r: 3 }).dataSync()[0]).toBe(6);
    });
  });

  it('comparisons give 1/0 with exact ties, in both evaluators', () => {
    const g = [1, 2, 3];
    const r = [2, 2, 2];
    const CASES: [string, number[]][] = [
      ['g < r', [1, 0, 0]],
      ['g <= r', [1, 1, 0]],
      ['g > r', [0, 0, 1]],
      ['g >= r', [0, 1, 1]],
      ['g == r', [0, 1, 0]],
      ['g != r', [1, 0, 1]],
    ];
    for (const [src, want] of CASES) {
      const c = compileExpr(src, VARS);
      expect(g.map((x, i) => c.scalar({ g: x, r: r[i]! })), src).toEqual(want);
      const t = tf.tidy(() => Array.from(c.tensor({ g: tf.tensor1d(g), r: tf.tensor1d(r) }).dataSync()));
      expect(t, src).toEqual(want);
    }
  });

  it('tensor() is float32 whatever the input dtype', () => {
    for (const src of ['r', '-r', 'abs(r)', 'max(r, g)']) {
      const t = compileExpr(src, VARS).tensor({ r: tf.tensor1d([1, -2], 'int32'), g: tf.tensor1d([0, 0], 'int32') });
      expect(t.dtype, src).toBe('float32');
      t.dispose();
    }
  });

  it('tensor() of a bare variable is the caller’s own tensor, not the input', () => {
    const x = tf.tensor1d([1, 2]);
    for (const src of ['r', '(r)', '+r', 'r * 1']) {
      const y = compileExpr(src, ['r']).tensor({ r: x });
      expect(y).not.toBe(x);
      y.dispose();
      expect(x.isDisposed).toBe(false);
      expect(Array.from(x.dataSync())).toEqual([1, 2]);
    }
    x.dispose();
  });

  it('uses the cheap kernels and allocates nothing for constant arithmetic', async () => {
    const x = tf.tensor1d([0.1, 0.5, 2]);
    const kernels = async (src: string) => {
      const info = await tf.profile(() => compileExpr(src, ['r']).tensor({ r: x }));
      (info.result as tf.Tensor).dispose();
      return info.kernelNames;
    };
    expect(await kernels('r^2')).toEqual(['Square']);
    expect(await kernels('pow(r, 2)')).toEqual(['Square']);
    expect(await kernels('r^0.5')).toEqual(['Sqrt']);
    expect(await kernels('(2*3 + log(4)) * r')).toEqual(['Multiply']);
    expect(await kernels('clip(r, 0.2, 1)')).toEqual(['ClipByValue']);
    expect(await kernels('r < 0.3')).toEqual(['Less', 'Cast']);
    expect(await kernels('r^1.5')).toEqual(['Pow']);
    x.dispose();
  });

  it('missing variables are reported at evaluation', () => {
    const c = compileExpr('g + r', ['g', 'r']);
    expect(() => c.scalar({ g: 1 })).toThrow(/variable 'r' was not provided/);
  });
});

// [source, what the message must say, expected 0-based position]
const FORBIDDEN: [string, RegExp, number][] = [
  ['a = 1', /assignments are not allowed/, 2],
  ['r = 1', /assignments are not allowed/, 2],
  ['r[1] = 2', /assignments are not allowed/, 5],
  ['f(x) = x^2', /function definitions are not allowed/, 5],
  ['r.value', /property or index access is not allowed/, 1],
  ['a.b', /property or index access is not allowed/, 1],
  ['r[1]', /property or index access is not allowed/, 1],
  ['log(r)[1]', /property or index access is not allowed/, 6],
  ['[1, 2][1]', /property or index access is not allowed/, 6],
  ['r + a.b(1)', /property or index access is not allowed/, 5],
  ['r?.b', /optional chaining '\?\.' is not allowed/, 1],
  ['log?.(r)', /optional chaining/, 3],
  ['"text"', /strings are not allowed/, 0],
  ['r + "x"', /strings are not allowed/, 4],
  ["r + 'x'", /strings are not allowed/, 4],
  ['[1, 2]', /matrices and arrays are not allowed/, 0],
  ['r * [1; 2]', /matrices and arrays are not allowed/, 4],
  ['{a: 1}', /objects are not allowed/, 0],
  ['1:3', /ranges 'a:b' are not allowed/, 1],
  ['r + (1:3)', /ranges/, 6],
  ['1; 2', /multiple statements/, 1],
  ['r\n2', /multiple statements/, 1],
  ['r > 0 ? 1 : 2', /conditionals 'a \? b : c' are not allowed/, 6],
  ['r!', /factorial '!' is not allowed/, 1],
  ["r'", /transpose/, 1],
  ["(r + g)'", /transpose/, 7],
  ['r mod 2', /operator 'mod' is not allowed \(modulo\)/, 2],
  ['r % 2', /operator '%' is not allowed \(modulo\)/, 2],
  ['r + 5%', /percentages/, 5],
  ['r & 1', /operator '&' is not allowed \(bitwise and\)/, 2],
  ['r | 1', /operator '\|' is not allowed \(bitwise or\)/, 2],
  ['r ^| 1', /operator '\^\|' is not allowed/, 2],
  ['r << 1', /operator '<<' is not allowed \(bit shift\)/, 2],
  ['r >>> 1', /operator '>>>' is not allowed/, 2],
  ['~r', /operator '~' is not allowed \(bitwise not\)/, 0],
  ['r and 1', /operator 'and' is not allowed \(logical and\)/, 2],
  ['r or g', /operator 'or' is not allowed \(logical or\)/, 2],
  ['r xor g', /operator 'xor' is not allowed/, 2],
  ['not r', /operator 'not' is not allowed \(logical not\)/, 0],
  ['r .* 2', /operator '\.\*' is not allowed \(element-wise/, 2],
  ['r ?? 1', /operator '\?\?' is not allowed/, 2],
  ['2r', /implicit multiplication is not allowed \(write \* explicitly\)/, 1],
  ['2 r', /implicit multiplication is not allowed \(write \* explicitly\)/, 2],
  ['g*2 r', /implicit multiplication/, 4],
  ['(r + 1)(g)', /implicit multiplication/, 7],
  ['r 2', /implicit multiplication/, 2],
  ['5 cm', /implicit multiplication/, 2],
  ['5 cm to inch', /operator 'to' is not allowed \(unit conversion\)/, 5],
  ['foo + 1', /unknown name 'foo' \(allowed: g, r\)/, 0],
  ['g*2 + foo', /unknown name 'foo' \(allowed: g, r\)/, 6],
  ['max(r, min(g, foo))', /unknown name 'foo'/, 14],
  ['clip(r, 0, 1) + clip', /unknown name 'clip'/, 16],
  ['r + r*rr - rr', /unknown name 'rr'/, 6],
  ['pi * r', /unknown name 'pi' \(allowed: g, r; write constants as numbers\)/, 0],
  ['2 * e^r', /unknown name 'e'/, 4],
  ['r * Infinity', /'Infinity' is not allowed/, 4],
  ['NaN', /'NaN' is not allowed/, 0],
  ['r + true', /'true' is not allowed/, 4],
  ['1e999 * r', /number '1e999' is not finite/, 0],
  ['r + 0x10', /only decimal numbers are allowed, got '0x10'/, 4],
  ['r + import(1)', /function 'import' is not allowed \(allowed: log, exp, sqrt, abs, min, max, clip, pow\)/, 4],
  ['evaluate("1+1")', /function 'evaluate' is not allowed/, 0],
  ['parse("1")', /function 'parse' is not allowed/, 0],
  ['createUnit("foo")', /function 'createUnit' is not allowed/, 0],
  ['r + compile("1")', /function 'compile' is not allowed/, 4],
  ['simplify("r")', /function 'simplify' is not allowed/, 0],
  ['derivative("r^2", "r")', /function 'derivative' is not allowed/, 0],
  ['log(r) * help(log)', /function 'help' is not allowed/, 9],
  ['sin(r)', /function 'sin' is not allowed/, 0],
  ['r(2)', /function 'r' is not allowed .*write r \* \(…\)/, 0],
  ['log(r, 10)', /log\(\) takes 1 argument, got 2/, 0],
  ['r + exp()', /exp\(\) takes 1 argument, got 0/, 4],
  ['clip(r, 1)', /clip\(\) takes 3 arguments, got 2/, 0],
  ['min(r)', /min\(\) takes at least 2 arguments, got 1/, 0],
  ['max()', /max\(\) takes at least 2 arguments, got 0/, 0],
  ['pow(r)', /pow\(\) takes 2 arguments, got 1/, 0],
  ['0 < r < 1', /chained comparisons are not allowed/, 6],
  ['(r < 1) * (0 < r <= 1)', /chained comparisons/, 17],
  ['r +', /syntax error: Unexpected end of expression/, 3],
  ['0.2 + * r', /syntax error/, 6],
  ['(r', /syntax error: Parenthesis \) expected/, 2],
  ['', /empty expression/, 0],
  ['   ', /empty expression/, 0],
  ['# just a comment', /empty expression/, 0],
];

describe('expression compiler refuses everything outside the whitelist', () => {
  for (const [src, message, position] of FORBIDDEN) {
    it(JSON.stringify(src), () => {
      let err: unknown;
      try {
        compileExpr(src, VARS);
      } catch (e) {
        err = e;
      }
      expect(err, `${src} was accepted`).toBeInstanceOf(ExprError);
      const x = err as ExprError;
      expect(x.message).toMatch(message);
      expect(x.expression).toBe(src);
      expect(x.position).toBe(position);
      expect(x.message.startsWith(`at char ${position}: `)).toBe(true);
    });
  }

  it('refuses non-finite numbers and non-string sources', () => {
    expect(() => compileExpr(Infinity, [])).toThrow(ExprError);
    expect(() => compileExpr(NaN, [])).toThrow(/expected a finite number/);
    expect(() => compileExpr(null as unknown as string, [])).toThrow(/expected an expression string or a number, got null/);
    expect(() => compileExpr({} as unknown as string, [])).toThrow(/got object/);
  });

  it('named constants are variables only when allowed', () => {
    expect(compileExpr('e * 2', ['e']).scalar({ e: 3 })).toBe(6);
    expect(compileExpr('e * 2', ['e']).variables).toEqual(['e']);
  });
});

describe('compile options: fixed constants and derived variables', () => {
  it('constants fold and derived variables inline', () => {
    const c = compileExpr('(0.26348 + 1.9650*r - 1.1731*r^2) * gMax / 25', ['g', 'r', 'gMax', 'gMin'], { constants: { gMax: 25, gMin: 0 }, defs: { r: 'g / gMax' } });
    expect(c.variables).toEqual(['g']);
    expect(c.scalar({ g: 12.5 })).toBeCloseTo(0.26348 + 1.965 * 0.5 - 1.1731 * 0.25, 12);
  });

  it('an error inside a definition is reported at the variable that uses it', () => {
    let err: unknown;
    try {
      compileExpr('g + 2*r', ['g', 'r'], { defs: { r: 'g / gMax' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExprError);
    expect((err as ExprError).position).toBe(6);
    expect((err as ExprError).message).toMatch(/in r = 'g \/ gMax': unknown name 'gMax'.*\(at char 4\)/);
  });
});
