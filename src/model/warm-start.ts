/**
 * Warm start: initialize a model's parameters from another aimc checkpoint — the same
 * architecture (continue with other settings) or the other one (an encoder from a decoder:
 * its layers have learned to read context from every next-token prediction, which the masked
 * LM's few predictions per step learn slowly). Parameters are matched by name, with the
 * layer prefix (`encoder.` / `decoder.`) following the target's architecture, and copied when
 * the shapes agree; position tables are aligned on their first real position (RoBERTa-style
 * encoders start at padding_idx + 1, GPT-2-style decoders at 0). Everything else keeps its
 * fresh initialization, and the result says which was which.
 */
import * as tf from '@tensorflow/tfjs';
import type { Transformer } from './transformer.js';

export interface WarmStart {
  /** Target parameters taken from the source. */
  copied: string[];
  /** Target parameters left at their initialization (no counterpart of the same shape). */
  fresh: string[];
}

/** Index of the first real position row of a model's position table. */
function firstPosition(m: Transformer): number {
  return m.config.arch === 'encoder' ? m.config.padTokenId + 1 : 0;
}

/** Copy what matches from `source` into `target` (in place); the vocabularies must agree. */
export function warmStart(target: Transformer, source: Transformer): WarmStart {
  if (target.config.vocabSize !== source.config.vocabSize) {
    throw new Error(
      `warm start: the source has a ${source.config.vocabSize}-token vocabulary, the target ${target.config.vocabSize} (use the source's tokenizer)`,
    );
  }
  const prefix = (arch: string) => `${arch}.`;
  const copied: string[] = [];
  const fresh: string[] = [];
  for (const [name, v] of target.params) {
    const srcName = name.startsWith(prefix(target.config.arch))
      ? prefix(source.config.arch) + name.slice(prefix(target.config.arch).length)
      : name;
    const s = source.params.get(srcName);
    if (!s) {
      fresh.push(name);
      continue;
    }
    if (name === 'embed.positions') {
      // Align the first real positions; rows before it (pad offsets) stay fresh.
      const [rowsT, D] = v.shape as [number, number];
      const [rowsS, DS] = s.shape as [number, number];
      const a = firstPosition(target);
      const b = firstPosition(source);
      const n = Math.min(rowsT - a, rowsS - b);
      if (D !== DS || n <= 0) {
        fresh.push(name);
        continue;
      }
      const out = v.dataSync().slice() as Float32Array;
      out.set((s.dataSync() as Float32Array).subarray(b * D, (b + n) * D), a * D);
      const t = tf.tensor(out, v.shape);
      v.assign(t);
      t.dispose();
      copied.push(name);
      continue;
    }
    if (s.shape.length !== v.shape.length || s.shape.some((d, i) => d !== v.shape[i])) {
      fresh.push(name);
      continue;
    }
    v.assign(s);
    copied.push(name);
  }
  return { copied, fresh };
}
