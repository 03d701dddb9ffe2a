/**
 * The `aimc` backend: tfjs's cpu backend — tensors are ordinary JS typed arrays, so there is
 * no 32-bit heap and no 4 GB ceiling on everything a run holds — with the native engine's
 * kernels registered for the hot operations (the matmuls; the kernels of this folder reach
 * its tensors in place through `heap`). Every other operation runs the cpu backend's own
 * kernel, registered here under this backend's name.
 *
 * Output buffers are recycled: a fresh typed array costs its page faults and zeroing (about
 * 1 ms per 3 MB here, more than the arithmetic of most kernels) and adds to V8's external
 * memory pressure, so the native kernels' outputs come from a pool of buffers this backend
 * allocated itself. A buffer returns to the pool only when no data entry uses it any more
 * (views made by cpu kernels such as slices count as users) and it never escaped through
 * `readSync`/`read` (a `dataSync()` array belongs to the caller).
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { nativeAddon, type HeapBackend } from './engine.js';
import { registerAimcOps } from './aimc-ops.js';
import { registerConvKernels } from './conv.js';
import { registerPoolKernels } from './pool.js';

export const AIMC_BACKEND = 'aimc';

/** Buffers smaller than this are left to the allocator (cheap there, not worth tracking). */
const POOL_MIN_BYTES = 64 * 1024;
/** Most bytes the pool keeps; more is dropped to the garbage collector. */
const POOL_MAX_BYTES = 1 << 30;

type Values = tf.backend_util.BackendValues | null | undefined;

const bufferOf = (v: Values): ArrayBufferLike | null => (v && ArrayBuffer.isView(v) ? v.buffer : null);

export class AimcBackend extends MathBackendCPU {
  /** Data entries alive per underlying buffer. */
  private readonly users = new Map<ArrayBufferLike, number>();
  /** Buffers allocated by makeOutput that nobody outside the backend has seen. */
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;

  constructor() {
    super();
    // The cpu backend's first write advises installing tfjs-node; aimc's banner already says
    // which engine runs and why.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** In-place access for the native kernels (same contract as the wasm heap: outputs are not zeroed). */
  readonly heap: HeapBackend = {
    makeOutput: (shape, dtype) => {
      const values = this.allocate(shape.reduce((a, b) => a * b, 1));
      return { dataId: this.write(values, shape, dtype), shape, dtype };
    },
    typedArrayFromHeap: (t) => {
      const entry = this.data.get(t.dataId);
      const v = entry?.values;
      if (v instanceof Float32Array) return v;
      // The cpu backend keeps some float32 tensors in another container (e.g. a plain Array or
      // a typed array of another type from the tensor's constructor): convert once, in place.
      if (entry && t.dtype === 'float32' && v && typeof (v as ArrayLike<number>).length === 'number') {
        const f = Float32Array.from(v as ArrayLike<number>);
        this.untrack(v);
        entry.values = f;
        this.track(f);
        return f;
      }
      throw new Error(
        `aimc backend: tensor of dtype ${t.dtype} has no float32 storage (${v === undefined ? 'no data' : Object.prototype.toString.call(v)})`,
      );
    },
    // Shared when another entry views the same buffer (a slice), not only by tfjs's count.
    refCount: (dataId) => Math.max(this.refCount(dataId), this.users.get(bufferOf(this.data.get(dataId)?.values)!) ?? 0),
  };

  /** A float32 array of n elements, recycled when one of that size is free (contents undefined). */
  private allocate(n: number): Float32Array {
    const free = this.pool.get(n);
    const reused = free?.pop();
    if (reused) {
      if (!free!.length) this.pool.delete(n);
      this.pooledBytes -= reused.byteLength;
      this.owned.add(reused.buffer);
      return reused;
    }
    const f = new Float32Array(n);
    if (f.byteLength >= POOL_MIN_BYTES) this.owned.add(f.buffer);
    return f;
  }

  private track(v: Values): void {
    const b = bufferOf(v);
    if (b) this.users.set(b, (this.users.get(b) ?? 0) + 1);
  }

  /** One user fewer; a buffer nobody uses, that this backend made and nobody saw, is recycled. */
  private untrack(v: Values): void {
    const b = bufferOf(v);
    if (!b) return;
    const n = (this.users.get(b) ?? 1) - 1;
    if (n > 0) {
      this.users.set(b, n);
      return;
    }
    this.users.delete(b);
    if (!this.owned.has(b) || !(v instanceof Float32Array) || v.byteOffset !== 0 || v.byteLength !== b.byteLength) return;
    this.owned.delete(b);
    if (v.byteLength > POOL_MAX_BYTES) return;
    // Least recently freed sizes go first: a phase of work (programming, then inference)
    // needs its own shapes, and the last freed buffers are the likeliest to be asked for again.
    while (this.pooledBytes + v.byteLength > POOL_MAX_BYTES) this.evictOldest();
    const free = this.pool.get(v.length) ?? [];
    free.push(v);
    this.pool.delete(v.length);
    this.pool.set(v.length, free);
    this.pooledBytes += v.byteLength;
  }

  /** Drop the oldest buffer of the size freed least recently (Map order: least recent first). */
  private evictOldest(): void {
    const [n, free] = this.pool.entries().next().value as [number, Float32Array[]];
    const dropped = free.shift()!;
    this.pooledBytes -= dropped.byteLength;
    if (!free.length) this.pool.delete(n);
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object {
    const id = super.write(values, shape, dtype);
    this.track(values);
    return id;
  }

  override move(dataId: object, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const old = this.data.get(dataId)?.values;
    super.move(dataId, values, shape, dtype, refCount);
    if (old !== undefined) this.untrack(old);
    this.track(values);
  }

  override readSync(dataId: object): tf.backend_util.BackendValues {
    const b = bufferOf(this.data.get(dataId)?.values);
    if (b) this.owned.delete(b);
    return super.readSync(dataId);
  }

  override disposeData(dataId: object, force = false): boolean {
    const v = this.data.get(dataId)?.values;
    const freed = super.disposeData(dataId, force);
    if (freed && v !== undefined && !this.data.has(dataId)) this.untrack(v);
    return freed;
  }

  override dispose(): void {
    this.pool.clear();
    this.pooledBytes = 0;
    super.dispose();
  }

  /** Bytes held for reuse (for tests and memory reports). */
  pooledByteCount(): number {
    return this.pooledBytes;
  }
}

let registered = false;

/** Register the backend and a copy of every cpu kernel under its name (idempotent). */
export function registerAimcBackend(): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(AIMC_BACKEND, () => new AimcBackend(), 0);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: AIMC_BACKEND });
  registerPoolKernels(AIMC_BACKEND);
  const lib = nativeAddon();
  if (lib) {
    registerAimcOps(lib, AIMC_BACKEND);
    registerConvKernels(lib, AIMC_BACKEND);
  }
}
