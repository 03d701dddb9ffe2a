/** A tiny "pretrained" encoder checkpoint with a word-level tokenizer and a toy JSONL task, on disk. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { wordLevelTokenizer } from './cli.js';

export const TINY_WORDS = ['good', 'bad', 'film', 'plot', 'the', 'a'];

/**
 * Writes the checkpoint (2 layers, d = 16; projections drawn 10× wider than the 0.02 init so
 * a frozen base carries token identity, as a trained one would) and `toy.jsonl` (200 rows,
 * label decided by good/bad); returns the folder and the dataset path.
 */
export async function tinyEncoderOnDisk(prefix = 'aimc-tiny-'): Promise<{ modelDir: string; dataFile: string }> {
  const modelDir = mkdtempSync(join(tmpdir(), prefix));
  const base = new Transformer({ ...defaultConfig('encoder'), vocabSize: 10, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 2, maxPositions: 16, numLabels: 0 }, 'cli-ad');
  for (const s of base.sites) s.weight.assign(tf.mul(s.weight, 10));
  await saveCheckpoint(base, modelDir);
  base.dispose();
  writeFileSync(join(modelDir, 'tokenizer.json'), JSON.stringify(wordLevelTokenizer(TINY_WORDS)));
  const F = ['the', 'a', 'film', 'plot'];
  const rows = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `${F[i % 4]} ${i % 2 ? 'good' : 'bad'} ${F[(i >> 2) % 4]}`, label: i % 2 ? 'pos' : 'neg' }));
  const dataFile = join(modelDir, 'toy.jsonl');
  writeFileSync(dataFile, rows.join('\n') + '\n');
  return { modelDir, dataFile };
}
