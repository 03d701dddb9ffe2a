import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readSafeTensors, toFloat32, writeSafeTensors, MAX_HEADER_BYTES } from '../../src/model/safetensors.js';
import { saveCheckpoint, loadCheckpoint } from '../../src/model/checkpoint.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { initBackend } from '../../src/tensor/backend.js';
import { RandomStream } from '../../src/tensor/random.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

/** A header-only file with the given JSON and `dataBytes` zero bytes after it. */
function file(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('round trip is bit-exact, including NaN, infinities and -0', () => {
    const data = new RandomStream('st').normal(new Float32Array(1000));
    data[0] = NaN;
    data[1] = Infinity;
    data[2] = -0;
    const buf = writeSafeTensors(new Map([['w', { shape: [10, 100], data }], ['b', { shape: [3], data: Float32Array.of(1, 2, 3) }]]), { k: 'v' });
    const st = readSafeTensors(buf, 'x.safetensors');
    expect(st.metadata).toEqual({ k: 'v' });
    const raw = st.tensors.get('w')!.bytes;
    expect(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).equals(Buffer.from(data.buffer))).toBe(true);
    // As weights, the non-finite values are refused, naming the file and the tensor.
    expect(() => toFloat32(st.tensors.get('w')!, 'w', 'x.safetensors')).toThrow(/x\.safetensors: tensor 'w': 2 of 1000 values are not finite \(first: element 0 = NaN\)/);
    expect(Array.from(toFloat32(st.tensors.get('b')!, 'b', 'x'))).toEqual([1, 2, 3]);
    expect(st.tensors.get('w')!.shape).toEqual([10, 100]);
    // Data starts 8-byte aligned, as the reference writer makes it.
    expect(Number(new DataView(buf.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it('decodes F16 and BF16', () => {
    const f16 = file({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] } }, 10);
    const dv = new DataView(f16.buffer, f16.length - 10);
    [0x3c00, 0xc000, 0x3555].forEach((h, i) => dv.setUint16(2 * i, h, true)); // 1, -2, ~0.33325
    [0x3f80, 0x4049].forEach((h, i) => dv.setUint16(6 + 2 * i, h, true)); // 1, 3.140625
    const st = readSafeTensors(f16, 'h.safetensors');
    expect(Array.from(toFloat32(st.tensors.get('a')!, 'a', 'h'))).toEqual([1, -2, 0.333251953125]);
    expect(Array.from(toFloat32(st.tensors.get('b')!, 'b', 'h'))).toEqual([1, 3.140625]);
  });

  const bad: [string, () => Uint8Array, RegExp][] = [
    ['empty file', () => new Uint8Array(3), /bad.safetensors: truncated: 3 bytes/],
    ['oversized header length', () => {
      const b = new Uint8Array(16);
      new DataView(b.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES) + 1n, true);
      return b;
    }, /header length \d+ bytes exceeds the 104857600-byte limit/],
    ['header longer than the file', () => file({}, 0).subarray(0, 9), /truncated: header says 2 bytes but only 1 follow/],
    ['header not JSON', () => {
      const b = file({}, 0);
      b[8] = 0x7b;
      b[9] = 0x7b;
      return b;
    }, /header is not valid UTF-8 JSON/],
    ['wrong dtype', () => file({ w: { dtype: 'F8', shape: [2], data_offsets: [0, 2] } }, 2), /tensor 'w': unsupported dtype "F8"/],
    ['negative shape', () => file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /tensor 'w': shape must be an array of non-negative integers/],
    ['byte count not matching the shape', () => file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor 'w': 8 bytes for F32\[3\], which needs 12/],
    ['data truncated', () => file({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 10), /truncated: tensor 'w' ends at byte 16 of the data but only 10 bytes are present/],
    ['overlapping tensors', () => file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /tensors 'a' and 'b' overlap/],
    ['bad metadata', () => file({ __metadata__: { n: 3 } }, 0), /__metadata__ must be an object of strings/],
  ];
  for (const [what, make, msg] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => readSafeTensors(make(), 'bad.safetensors')).toThrow(msg);
    });
  }
});

describe('aimc checkpoints', () => {
  it('save → load gives identical parameters and logits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-ckpt-'));
    const m = new Transformer({ ...defaultConfig('encoder'), vocabSize: 40, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 8 }, 'ckpt');
    await saveCheckpoint(m, dir);
    const n = loadCheckpoint(dir);
    const b = { ids: Int32Array.of(0, 5, 6, 2), B: 1, T: 4 };
    const a = m.classify(b).dataSync();
    const c = n.classify(b).dataSync();
    expect(Array.from(c)).toEqual(Array.from(a));
    m.dispose();
    n.dispose();
  });

  for (const [what, dtype, bytes] of [
    ['NaN (F32)', 'F32', Buffer.from(Float32Array.of(1, NaN, 2, 3).buffer)],
    ['-Infinity (F32)', 'F32', Buffer.from(Float32Array.of(1, 2, -Infinity, 3).buffer)],
    ['+Inf (F16 0x7c00)', 'F16', Buffer.from(Uint16Array.of(0x3c00, 0x3c00, 0x3c00, 0x7c00).buffer)],
    ['NaN (BF16 0x7fc0)', 'BF16', Buffer.from(Uint16Array.of(0x3f80, 0x7fc0, 0x3f80, 0x3f80).buffer)],
    ['NaN (F64)', 'F64', Buffer.from(Float64Array.of(0, 0, NaN, 0).buffer)],
  ] as const) {
    it(`a checkpoint with a ${what} weight is refused at load, naming the tensor`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aimc-ckpt-nan-'));
      const m = new Transformer({ ...defaultConfig('encoder'), vocabSize: 40, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 8 }, 'nan');
      await saveCheckpoint(m, dir);
      m.dispose();
      // Rewrite the file with one tensor replaced by the hostile one (same element count).
      const file = join(dir, 'model.safetensors');
      const st = readSafeTensors(readFileSync(file), file);
      const header: Record<string, unknown> = {};
      const parts: Buffer[] = [];
      let off = 0;
      for (const [k, t] of st.tensors) {
        const data = k === 'embed.ln.gamma' ? Buffer.alloc(16 * (dtype === 'F64' ? 8 : dtype === 'F32' ? 4 : 2)) : Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
        if (k === 'embed.ln.gamma') {
          // 16 values: 4 of the hostile pattern repeated.
          for (let r = 0; r < 4; r++) bytes.copy(data, r * bytes.length);
        }
        header[k] = { dtype: k === 'embed.ln.gamma' ? dtype : t.dtype, shape: t.shape, data_offsets: [off, off + data.length] };
        parts.push(data);
        off += data.length;
      }
      const h = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      writeFileSync(file, Buffer.concat([len, h, ...parts]));
      expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors: tensor 'embed\.ln\.gamma': 4 of 16 values are not finite/);
    });
  }

  it('names missing, unexpected and mis-shaped parameters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aimc-ckpt-'));
    const cfg = { ...defaultConfig('decoder'), vocabSize: 40, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 8 };
    const m = new Transformer(cfg, 'x');
    await saveCheckpoint(m, dir);
    m.dispose();
    const st = readSafeTensors(readFileSync(join(dir, 'model.safetensors')), 'f');
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of st.tensors) if (k !== 'final_ln.beta') tensors.set(k, { shape: t.shape, data: toFloat32(t, k, 'f') });
    tensors.set('extra.weight', { shape: [1], data: Float32Array.of(0) });
    tensors.set('decoder.0.attn.q.weight', { shape: [16, 15], data: new Float32Array(240) });
    writeFileSync(join(dir, 'model.safetensors'), writeSafeTensors(tensors));
    expect(() => loadCheckpoint(dir)).toThrow(/parameter 'decoder.0.attn.q.weight' has shape \[16,15\], the config needs \[16,16\][\s\S]*missing parameter 'final_ln.beta'[\s\S]*unexpected parameter 'extra.weight'/);
    void tf;
  });
});
