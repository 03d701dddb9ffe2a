import { describe, it, expect } from 'vitest';
import seedrandom from 'seedrandom';
import { RandomStream, streamFor } from '../../src/tensor/random.js';
import { moments, phi } from '../helpers/stats.js';

const N = 1_000_000;

describe('RandomStream', () => {
  it('is exactly seedrandom.tychei for the same path', () => {
    const ours = new RandomStream('42/trial-0/encoder.0.attn.q/program');
    const ref = seedrandom.tychei('42/trial-0/encoder.0.attn.q/program');
    for (let i = 0; i < 10_000; i++) expect(ours.int32()).toBe(ref.int32());
  });

  it('uniform() draws are seedrandom.tychei quick() values', () => {
    const u = new RandomStream('u').uniform(new Float64Array(1000));
    const ref = seedrandom.tychei('u');
    for (let i = 0; i < 1000; i++) expect(u[i]).toBe(ref.quick());
  });

  it('same path gives identical bits; another path or trial gives different draws', () => {
    const a = streamFor(7, 'trial-0', 'layer', 'program').normal(4096);
    const b = streamFor(7, 'trial-0', 'layer', 'program').normal(4096);
    const c = streamFor(7, 'trial-1', 'layer', 'program').normal(4096);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === c[i]) same++;
    expect(same).toBeLessThan(5);
  });

  it('child streams are the path joined with /', () => {
    const a = new RandomStream('s').child('trial-2', 'read').normal(16);
    const b = new RandomStream('s/trial-2/read').normal(16);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('normal() has N(0,1) moments within Monte Carlo error', () => {
    const x = new RandomStream('moments').normal(N);
    const { mean, variance, m4 } = moments(x);
    // SE(mean)=1/√N, SE(var)=√(2/N), SE(m4)≈√(96/N) for a standard normal; 5 sigma.
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(m4 - 3)).toBeLessThan(5 * Math.sqrt(96 / N));
  });

  it('normal() matches the normal CDF in every decile and in the ziggurat tail', () => {
    const x = new RandomStream('cdf').normal(N);
    const edges = [-Infinity, -3.442619855899, -2, -1, -0.5, 0, 0.5, 1, 2, 3.442619855899, Infinity];
    const counts = new Array(edges.length - 1).fill(0);
    for (const v of x) {
      let k = 0;
      while (v >= edges[k + 1]!) k++;
      counts[k]++;
    }
    for (let k = 0; k < counts.length; k++) {
      const p = phi(edges[k + 1]!) - phi(edges[k]!);
      const sd = Math.sqrt(N * p * (1 - p));
      expect(Math.abs(counts[k] - N * p)).toBeLessThan(5 * sd + 1);
    }
  });

  it('uniform() is in [0,1) with the right mean and variance', () => {
    const u = new RandomStream('unif').uniform(N);
    let min = 1;
    let max = 0;
    for (const v of u) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const { mean, variance } = moments(u);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
  });

  it('streams of sibling names are uncorrelated', () => {
    const a = new RandomStream('x/0').normal(N);
    const b = new RandomStream('x/1').normal(N);
    let s = 0;
    for (let i = 0; i < N; i++) s += a[i]! * b[i]!;
    expect(Math.abs(s / N)).toBeLessThan(5 / Math.sqrt(N));
  });

  it('state() resumes a stream where it stopped', () => {
    const r = new RandomStream('resume');
    r.normal(1001);
    const resumed = new RandomStream('resume', r.state());
    expect(Array.from(resumed.normal(64))).toEqual(Array.from(r.normal(64)));
  });
});
