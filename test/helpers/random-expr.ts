/**
 * Random expression trees for the compiler tests: rendered to source, with an evaluator in
 * plain JS (independent of the compiler) that also propagates a float32 error bound.
 */
export const VARS = ['g', 'r'];
/** Unit roundoff of float32: the tensor path rounds every op to it. */
export const U = 2 ** -24;

export interface Vals {
  g: number;
  r: number;
}
/** Exact value in float64, and a first-order bound on what float32 evaluation can be off by. */
export interface Ev {
  x: number;
  e: number;
}

/**
 * A random expression tree rendered to source, with its own evaluator written in plain JS
 * (independent of the compiler), which also propagates a float32 error bound so the tensor
 * check can be tight where the tree is well conditioned and still sound where it is not
 * (cancellation, near-ties of comparisons).
 */
export interface Gen {
  src: string;
  ev: (v: Vals) => Ev;
  /** Which constructs the tree uses, to check the generator covers the whole whitelist. */
  kinds: string[];
}

const round = (x: number, e: number): Ev => ({ x, e: e + U * Math.abs(x) });

export function randomExpr(rng: () => number, depth: number): Gen {
  const leaf = (): Gen => {
    const k = rng();
    if (k < 0.35) return { src: 'g', ev: (v) => ({ x: v.g, e: 0 }), kinds: ['var'] };
    if (k < 0.7) return { src: 'r', ev: (v) => ({ x: v.r, e: 0 }), kinds: ['var'] };
    const c = Math.round((rng() * 4 - 2) * 1000) / 1000;
    const form = rng();
    // Literal spellings the language must read: plain, exponent, leading dot, parenthesized negative.
    const src = c < 0 ? `(${c})` : form < 0.2 ? c.toExponential() : form < 0.3 && c < 1 ? String(c).replace(/^0\./, '.') : String(c);
    return { src, ev: () => ({ x: c, e: U * Math.abs(c) }), kinds: ['number'] };
  };
  if (depth <= 0 || rng() < 0.15) return leaf();
  const a = randomExpr(rng, depth - 1);
  const b = randomExpr(rng, depth - 1);
  const c3 = randomExpr(rng, depth - 1);
  // Positive argument (>= 0.1) for log, sqrt, division and powers, so every tree is defined.
  const pos = (x: Gen): Gen => ({
    src: `(abs(${x.src}) + 0.1)`,
    ev: (v) => {
      const y = x.ev(v);
      return round(Math.abs(y.x) + 0.1, y.e + U * 0.1);
    },
    kinds: [...x.kinds, 'abs', '+'],
  });
  const cmp = (sym: string, f: (p: number, q: number) => boolean): Gen => ({
    src: `(${a.src} ${sym} ${b.src})`,
    ev: (v) => {
      const p = a.ev(v);
      const q = b.ev(v);
      // Operands closer than their error bounds may compare either way in float32.
      return { x: +f(p.x, q.x), e: Math.abs(p.x - q.x) <= p.e + q.e ? 1 : 0 };
    },
    kinds: [...a.kinds, ...b.kinds, sym],
  });
  const powConst = (base: Gen, k: number, spelled: (s: string) => string, kind: string): Gen => ({
    src: spelled(base.src),
    ev: (v) => {
      const p = base.ev(v);
      if (p.e >= p.x) return { x: p.x ** k, e: Infinity };
      const slope = Math.abs(k) * Math.max((p.x - p.e) ** (k - 1), (p.x + p.e) ** (k - 1));
      return round(p.x ** k, slope * p.e + U * Math.abs(p.x ** k));
    },
    kinds: [...base.kinds, kind],
  });
  const pa = pos(a);
  const pb = pos(b);
  const ops: (() => Gen)[] = [
    () => ({ src: `(${a.src} + ${b.src})`, ev: (v) => { const p = a.ev(v), q = b.ev(v); return round(p.x + q.x, p.e + q.e); }, kinds: [...a.kinds, ...b.kinds, '+'] }),
    () => ({ src: `(${a.src} - ${b.src})`, ev: (v) => { const p = a.ev(v), q = b.ev(v); return round(p.x - q.x, p.e + q.e); }, kinds: [...a.kinds, ...b.kinds, '-'] }),
    () => ({
      src: `(${a.src} * ${b.src})`,
      ev: (v) => { const p = a.ev(v), q = b.ev(v); return round(p.x * q.x, p.e * Math.abs(q.x) + q.e * Math.abs(p.x) + p.e * q.e); },
      kinds: [...a.kinds, ...b.kinds, '*'],
    }),
    () => ({
      src: `${a.src} / ${pb.src}`,
      ev: (v) => {
        const p = a.ev(v), q = pb.ev(v);
        const x = p.x / q.x;
        return q.e >= q.x ? { x, e: Infinity } : round(x, (p.e + Math.abs(x) * q.e) / (q.x - q.e) + U * Math.abs(x));
      },
      kinds: [...a.kinds, ...pb.kinds, '/'],
    }),
    () => powConst(pa, 2, (s) => `${s}^2`, '^2'),
    () => powConst(pa, 1.5, (s) => `${s}^1.5`, '^'),
    () => powConst(pa, 3, (s) => `${s} ^ 3`, '^3'),
    () => powConst(pa, 0.5, (s) => `pow(${s}, 0.5)`, 'pow'),
    () => powConst(pa, -1, (s) => `${s}^(-1)`, '^'),
    () => ({
      // Variable exponent: x = p^q, dx/x = q·dp/p + ln p·dq.
      src: `pow(${pa.src}, clip(${b.src}, -2, 2))`,
      ev: (v) => {
        const p = pa.ev(v), q0 = b.ev(v);
        const q = Math.min(Math.max(q0.x, -2), 2);
        const x = p.x ** q;
        if (p.e >= p.x) return { x, e: Infinity };
        return round(x, Math.abs(x) * Math.expm1((Math.abs(q) * p.e) / (p.x - p.e) + Math.abs(Math.log(p.x)) * q0.e) + U * Math.abs(x));
      },
      kinds: [...pa.kinds, ...b.kinds, 'pow', 'clip'],
    }),
    () => ({ src: `-${a.src}`, ev: (v) => { const p = a.ev(v); return { x: -p.x, e: p.e }; }, kinds: [...a.kinds, 'neg'] }),
    () => ({ src: `+${a.src}`, ev: (v) => a.ev(v), kinds: [...a.kinds, 'plus'] }),
    () => cmp('<', (p, q) => p < q),
    () => cmp('<=', (p, q) => p <= q),
    () => cmp('>', (p, q) => p > q),
    () => cmp('>=', (p, q) => p >= q),
    () => cmp('==', (p, q) => p === q),
    () => cmp('!=', (p, q) => p !== q),
    () => ({
      src: `log(${pa.src})`,
      ev: (v) => { const p = pa.ev(v); return p.e >= p.x ? { x: Math.log(p.x), e: Infinity } : round(Math.log(p.x), -Math.log1p(-p.e / p.x)); },
      kinds: [...pa.kinds, 'log'],
    }),
    () => ({
      src: `exp(clip(${a.src}, -3, 3))`,
      ev: (v) => { const p = a.ev(v); const x = Math.exp(Math.min(Math.max(p.x, -3), 3)); return round(x, x * Math.expm1(p.e)); },
      kinds: [...a.kinds, 'exp', 'clip'],
    }),
    () => ({
      src: `sqrt(${pa.src})`,
      ev: (v) => { const p = pa.ev(v); const x = Math.sqrt(p.x); return round(x, x - Math.sqrt(Math.max(p.x - p.e, 0))); },
      kinds: [...pa.kinds, 'sqrt'],
    }),
    () => ({ src: `abs(${a.src})`, ev: (v) => { const p = a.ev(v); return { x: Math.abs(p.x), e: p.e }; }, kinds: [...a.kinds, 'abs'] }),
    () => ({
      src: `min(${a.src}, ${b.src}, 0.5)`,
      ev: (v) => { const p = a.ev(v), q = b.ev(v); return { x: Math.min(p.x, q.x, 0.5), e: Math.max(p.e, q.e) }; },
      kinds: [...a.kinds, ...b.kinds, 'min'],
    }),
    () => ({
      src: `max(${a.src}, ${b.src})`,
      ev: (v) => { const p = a.ev(v), q = b.ev(v); return { x: Math.max(p.x, q.x), e: Math.max(p.e, q.e) }; },
      kinds: [...a.kinds, ...b.kinds, 'max'],
    }),
    () => ({
      src: `clip(${a.src}, -1, 1)`,
      ev: (v) => { const p = a.ev(v); return { x: Math.min(Math.max(p.x, -1), 1), e: p.e }; },
      kinds: [...a.kinds, 'clip'],
    }),
    () => ({
      // Crossed constant bounds: min(max(x, 1), -1) is -1 everywhere.
      src: `clip(${a.src}, 1, -1)`,
      ev: (v) => { const p = a.ev(v); return { x: Math.min(Math.max(p.x, 1), -1), e: 0 }; },
      kinds: [...a.kinds, 'clip'],
    }),
    () => ({
      // Variable bounds, in either order.
      src: `clip(${a.src}, ${b.src}, ${c3.src})`,
      ev: (v) => { const p = a.ev(v), q = b.ev(v), w = c3.ev(v); return { x: Math.min(Math.max(p.x, q.x), w.x), e: Math.max(p.e, q.e, w.e) }; },
      kinds: [...a.kinds, ...b.kinds, ...c3.kinds, 'clip'],
    }),
  ];
  return ops[Math.floor(rng() * ops.length)]!();
}

