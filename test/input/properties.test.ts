/**
 * Property-based tests (fast-check, fixed seeds): random and shrunk hostile inputs to the
 * parsers and validators never crash with an internal error and never yield a non-finite result.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafeTensors, SafeTensorsError, toFloat32 } from '../../src/model/safetensors.js';
import { compileExpr, ExprError } from '../../src/device/expr.js';
import { loadProfile, ProfileError, validateProfile } from '../../src/device/profile.js';
import { loadDataset } from '../../src/data/datasets.js';
import { parseSpec, SpecError } from '../../src/experiment/spec.js';
import { DeviceModel } from '../../src/device/model.js';
import { conductanceStats } from '../../src/crossbar/device-stats.js';
import { NonFiniteError } from '../../src/input/finite.js';
import { initBackend } from '../../src/tensor/backend.js';
import { beforeAll } from 'vitest';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

/** An error aimc raises on purpose (a message about the input), as opposed to a JavaScript defect. */
const deliberate = (e: unknown) => e instanceof Error && !['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError'].includes(e.name);

describe('safetensors headers', () => {
  const header = fc.oneof(
    fc.json(),
    fc.dictionary(
      fc.string({ maxLength: 8 }),
      fc.record({ dtype: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'X'), shape: fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 3 }), data_offsets: fc.tuple(fc.integer({ min: -4, max: 64 }), fc.integer({ min: -4, max: 64 })) }),
      { maxKeys: 3 },
    ).map((o) => JSON.stringify(o)),
  );
  it('any header and body: a parsed file or a SafeTensorsError, and weights read are finite', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -3, max: 3 }), (h, body, lenSkew) => {
        const hb = Buffer.from(h);
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(Math.max(0, hb.length + lenSkew)));
        const buf = new Uint8Array(Buffer.concat([len, hb, Buffer.from(body)]));
        try {
          const st = readSafeTensors(buf, 'x.safetensors');
          for (const [name, t] of st.tensors) {
            try {
              const v = toFloat32(t, name, 'x.safetensors');
              if (!v.every(Number.isFinite)) return false;
            } catch (e) {
              if (!(e instanceof SafeTensorsError)) return false;
            }
          }
          return true;
        } catch (e) {
          return e instanceof SafeTensorsError;
        }
      }),
      { numRuns: 1500, seed: 21 },
    );
  });
});

describe('profile expressions', () => {
  const token = fc.constantFrom('r', 'g', 'gMax', 'gMin', '1', '0', '1e-7', '2.5', '+', '-', '*', '/', '^', '(', ')', 'log(', 'exp(', 'sqrt(', 'abs(', 'min(', 'max(', ',', '<', '>=', 'eval(', 'x', '=', ';', 'clip(');
  it('any token soup: an ExprError, or a compiled expression whose value is a number', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), fc.double({ min: 0, max: 1, noNaN: true }), (toks, r) => {
        const src = toks.join(' ');
        try {
          const e = compileExpr(src, ['g', 'r', 'gMax', 'gMin']);
          return typeof e.scalar({ g: r * 25, r, gMax: 25, gMin: 0 }) === 'number';
        } catch (err) {
          return err instanceof ExprError;
        }
      }),
      { numRuns: 1500, seed: 22 },
    );
  });
});

describe('profile numbers', () => {
  const base = loadProfile('pcm-nandakumar-2019');
  const hostile = fc.oneof(fc.double(), fc.constantFrom(1e-320, 1e308, -0, 0, -1, 1e-6, 1e6, Number.MAX_VALUE, Number.MIN_VALUE), fc.integer());
  it('random values in numeric fields: refused with a ProfileError, or a profile whose physics is finite', () => {
    fc.assert(
      fc.property(fc.constantFrom('gMax', 'gMin', 'progScale', 'readScale', 'adcBound', 'dacBound', 'outputNoise', 't0', 'tRead'), hostile, (field, v) => {
        const p = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
        const set: Record<string, () => void> = {
          gMax: () => (p.conductance!.gMax = v),
          gMin: () => (p.conductance!.gMin = v),
          progScale: () => (p.scales!.programming = v),
          readScale: () => (p.scales!.read = v),
          adcBound: () => ((p.periphery!.adc as Record<string, unknown>).bound = v),
          dacBound: () => ((p.periphery!.dac as Record<string, unknown>).bound = v),
          outputNoise: () => (p.periphery!.outputNoise = v),
          t0: () => ((p.drift as Record<string, unknown>).t0 = v),
          tRead: () => ((p.readNoise as Record<string, unknown>).tRead = v),
        };
        set[field]!();
        let dev: DeviceModel;
        try {
          dev = new DeviceModel(validateProfile(p, 'p.json'));
        } catch (e) {
          return e instanceof ProfileError;
        }
        // A profile that validates simulates finitely — or stops, saying so (never NaN silently).
        try {
          const rows = conductanceStats(dev, [0.1, 1], [1, 31536000], 300, 'prop');
          return rows.every((r) => Object.values(r).every(Number.isFinite));
        } catch (e) {
          return e instanceof NonFiniteError;
        }
      }),
      { numRuns: 150, seed: 23 },
    );
  });
});

describe('dataset rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aimc-prop-rows-'));
  let n = 0;
  const value = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }));
  const row = fc.oneof(
    fc.record({ text: value, label: value }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.json(),
    fc.string({ maxLength: 20 }),
  );
  it('any JSONL lines: a dataset whose labels are usable, or an error naming the file and line', () => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, bom) => {
        const f = join(dir, `p${n++}.jsonl`);
        writeFileSync(f, (bom ? '\uFEFF' : '') + lines.join('\n'));
        try {
          const d = loadDataset(f);
          const all = [...d.train, ...d.dev, ...d.test];
          return all.every((e) => typeof e.text === 'string' && e.text.length > 0 && Number.isFinite(e.label!));
        } catch (e) {
          return deliberate(e) && (e as Error).message.startsWith(f);
        }
      }),
      { numRuns: 600, seed: 24 },
    );
  });
});

describe('experiment specs', () => {
  it('any JSON: a spec the schema accepts, or a SpecError naming the file', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string(), fc.record({ name: fc.string(), model: fc.string(), task: fc.string(), adapters: fc.json(), devices: fc.json(), times: fc.array(fc.oneof(fc.double(), fc.string())), trials: fc.double() }).map((o) => JSON.stringify(o))), (text) => {
        try {
          parseSpec(text, 's.json');
          return true;
        } catch (e) {
          return e instanceof SpecError && e.message.startsWith('s.json');
        }
      }),
      { numRuns: 1000, seed: 25 },
    );
  });

  it('specs the schema accepts have bounded trials and times', () => {
    const ok = { name: 'x', model: 'm', task: 't', adapters: [{ plugin: 'head' }], devices: [{ device: 'ideal' }], times: ['1d'], trials: 1 };
    expect(() => parseSpec(JSON.stringify({ ...ok, trials: 1e9 }), 's.json')).toThrow(/^s\.json: invalid experiment spec:\n {2}\/trials: expected integer <= 100000, got 1000000000$/);
    expect(() => parseSpec(JSON.stringify({ ...ok, times: Array(1001).fill('1d') }), 's.json')).toThrow(/\/times: expected at most 1000 item\(s\), got 1001/);
  });
});
