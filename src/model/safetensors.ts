/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors format):
 * 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets},
 * "__metadata__": {string: string}}, then the raw little-endian tensor bytes. The reader
 * trusts nothing: every field is checked and a problem is reported with the file name.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafeDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Largest header aimc accepts (the reference implementation's limit is 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** Raw bytes (a view into the file buffer). */
  bytes: Uint8Array;
}

export interface SafeTensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

export class SafeTensorsError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'SafeTensorsError';
  }
}

/** Parse a safetensors buffer; throws SafeTensorsError naming the problem. */
export function readSafeTensors(buf: Uint8Array, file: string): SafeTensorsFile {
  const fail = (msg: string): never => {
    throw new SafeTensorsError(file, msg);
  };
  if (buf.length < 8) fail(`truncated: ${buf.length} bytes, a safetensors file starts with an 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or hostile)`);
  }
  const headerLen = Number(n);
  if (8 + headerLen > buf.length) fail(`truncated: header says ${headerLen} bytes but only ${buf.length - 8} follow`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        fail('__metadata__ must be an object of strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(`tensor '${name}': expected an object with dtype, shape, data_offsets`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      fail(`tensor '${name}': unsupported dtype ${JSON.stringify(e.dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const dtype = e.dtype as SafeDType;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
      fail(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    }
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)) {
      fail(`tensor '${name}': data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const want = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end < begin) fail(`tensor '${name}': data_offsets end ${end} before begin ${begin}`);
    if (end - begin !== want) fail(`tensor '${name}': ${end - begin} bytes for ${dtype}${JSON.stringify(shape)}, which needs ${want}`);
    if (end > dataLen) fail(`truncated: tensor '${name}' ends at byte ${end} of the data but only ${dataLen} bytes are present`);
    ranges.push([begin, end, name]);
    tensors.set(name, { dtype, shape, bytes: buf.subarray(dataStart + begin, dataStart + end) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) fail(`tensors '${ranges[i - 1]![2]}' and '${ranges[i]![2]}' overlap in the data`);
  }
  return { tensors, metadata };
}

/** True on little-endian hosts (every platform Node supports today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decode a tensor to float32 (F32, F16, BF16, F64 and integer types), copying. */
export function toFloat32(t: SafeTensor, name: string, file: string): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      // The file is little-endian, as this host: one copy of the bytes (a per-element
      // DataView read was an eighth of loading a 125 M-parameter checkpoint).
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(t.bytes.subarray(0, 4 * n));
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case 'BF16': {
      // bfloat16 is the upper half of a float32: write the bits through an integer view.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      break;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      break;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    default:
      throw new SafeTensorsError(file, `tensor '${name}': dtype ${t.dtype} cannot be used as weights`);
  }
  // A NaN or infinite weight would make every output non-finite, silently: refuse it here,
  // where the file and the tensor can still be named.
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i]!)) {
      let bad = 0;
      for (let j = i; j < n; j++) if (!Number.isFinite(out[j]!)) bad++;
      const first = `first: element ${i} = ${out[i]}`;
      throw new SafeTensorsError(
        file,
        `tensor '${name}': ${bad} of ${n} values are not finite (${first}); the checkpoint is corrupt or diverged`,
      );
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Serialize float32 tensors (sorted by name, 8-byte aligned header) with string metadata. */
export function writeSafeTensors(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    const dv = new DataView(out.buffer, pos, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(4 * i, t.data[i]!, true);
    pos += t.data.length * 4;
  }
  return out;
}

/**
 * The tensor names and shapes a safetensors file declares, from its header alone (8 bytes
 * and the JSON that follows; no weights read) — for describing a checkpoint. Loading
 * validates the whole file.
 */
export function readSafeTensorsHeader(file: string): Map<string, number[]> {
  const fd = openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) < 8)
      throw new SafeTensorsError(file, 'truncated: a safetensors file starts with an 8-byte header length');
    const n = len.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER_BYTES))
      throw new SafeTensorsError(file, `header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    const buf = Buffer.alloc(Number(n));
    if (readSync(fd, buf, 0, buf.length, 8) < buf.length) throw new SafeTensorsError(file, `truncated: header says ${n} bytes`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf));
    } catch (e) {
      throw new SafeTensorsError(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header))
      throw new SafeTensorsError(file, 'header must be a JSON object');
    const out = new Map<string, number[]>();
    for (const [name, e] of Object.entries(header as Record<string, { shape?: unknown }>)) {
      if (name === '__metadata__') continue;
      const shape = e?.shape;
      if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
        throw new SafeTensorsError(file, `tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
      }
      out.set(name, shape as number[]);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
