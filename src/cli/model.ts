/** `aimc model info | map | run`. */
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { describeModel, loadModel, modelsDir } from '../model/load.js';
import { MODEL_PRESETS, presetConfig } from '../model/presets.js';
import type { ModelConfig } from '../model/config.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { Transformer } from '../model/transformer.js';
import { saveHuggingFace } from '../model/hf.js';
import { checkOutputDir } from '../input/paths.js';
import { loadTokenizer } from '../model/tokenizer.js';
import { defaultAnalogSites } from '../model/sites.js';
import { DeviceModel } from '../device/model.js';
import { loadProfile } from '../device/profile.js';
import { mapModel } from '../deploy/cost.js';
import { BACKEND_OPTION, JSON_OPTION, SEED_OPTION, startBackend, startBackendFor, table } from './common.js';
import { loadDataset } from '../data/datasets.js';
import { evaluateLanguageModel } from '../task/lm-eval.js';
import { parseInteger, parseList, parseNonNegativeInt, parsePositiveInt } from '../input/values.js';

/** Token ids: comma-separated integers in [0, vocab) (checked against the model once loaded). */
function parseIds(text: string, vocab: number, positions: number): Int32Array {
  const ids = parseList(text, '--ids', (s, w) => parseInteger(s, w, { min: 0, max: vocab - 1 }), { maxItems: positions });
  return Int32Array.from(ids);
}

/** What `aimc model eval` is given. */
interface EvalOptions {
  dataset: string;
  split: string;
  seq?: string;
  limit?: string;
  batch: string;
  seed: string;
  json?: boolean;
  backend?: string;
}

/** Register the model commands. */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('models: inspect, map onto tiles, run');

  model
    .command('info')
    .description('architecture, parameters per role and the Linear sites')
    .argument('<model>', 'shipped model name or checkpoint directory (aimc or Hugging Face)')
    .option(...JSON_OPTION)
    .option(...BACKEND_OPTION)
    .action(async (name: string, opts: { json?: boolean; backend?: string }) => {
      // From config.json and the weights' header: nothing is allocated, so any size is instant.
      const { dir, format, config: c, layout } = describeModel(name);
      const tokenizer = loadTokenizer(dir);
      const byRole = new Map<string, number>();
      for (const s of layout.sites) byRole.set(s.role, (byRole.get(s.role) ?? 0) + s.parameters);
      const inSites = layout.sites.reduce((a, s) => a + s.parameters, 0);
      byRole.set('embeddings+norms', layout.parameters - inSites);
      const info = {
        dir,
        format,
        config: c,
        parameters: layout.parameters,
        parametersByRole: Object.fromEntries(byRole),
        tokenizer: tokenizer ? { vocabSize: tokenizer.vocabSize } : null,
        sites: layout.sites.map((s) => ({ name: s.name, role: s.role, in: s.inFeatures, out: s.outFeatures, parameters: s.parameters })),
      };
      if (opts.json) {
        console.log(JSON.stringify(info, null, 2));
      } else {
        const shape = `${c.numLayers} layers, d=${c.hiddenSize}, ${c.numHeads} heads, FFN ${c.intermediateSize}, vocab ${c.vocabSize}`;
        console.log(`${dir} (${format}): ${c.arch}, ${shape}, ${layout.parameters} parameters`);
        const t1 = table(['role', 'parameters']);
        for (const [r, n] of byRole) t1.push([r, n]);
        console.log(t1.toString());
        const t2 = table(['site', 'role', 'in', 'out', 'parameters']);
        for (const s of info.sites) t2.push([s.name, s.role, s.in, s.out, s.parameters]);
        console.log(t2.toString());
      }
    });

  model
    .command('init')
    .description(
      'a randomly initialized model of a published size (Hugging Face initialization, seeded), as an aimc checkpoint or (--hf) in Hugging Face layout',
    )
    .argument('[preset]', `shorthand for --arch/--size: ${Object.keys(MODEL_PRESETS).join(' | ')}`)
    .option('--arch <arch>', 'roberta | gpt2')
    .option('--size <size>', 'roberta: tiny | base | large; gpt2: tiny | base | medium | large')
    .requiredOption('--out <dir>', 'output directory (config.json, model.safetensors, tokenizer.json)')
    .option('--hf', 'Hugging Face layout (config.json as save_pretrained writes it, HF tensor names and [out, in] layouts)')
    .option(
      '--vocab-from <tokenizer>',
      "a tokenizer.json (or its folder): copied, and the vocabulary sized to it (default: aimc-enc-tiny's, the preset's vocabulary size)",
    )
    .option('--labels <n>', 'encoders: classes of the task head (0 = no head; default 2)')
    .option(...SEED_OPTION)
    .option(...BACKEND_OPTION)
    .action(
      async (
        preset: string | undefined,
        o: { arch?: string; size?: string; out: string; hf?: boolean; vocabFrom?: string; labels?: string; seed: string; backend?: string },
      ) => {
        let name: string;
        let config: ModelConfig;
        if (preset !== undefined) {
          if (o.arch || o.size) throw new Error('give a preset or --arch/--size, not both');
          if (!MODEL_PRESETS[preset])
            throw new Error(`unknown preset '${preset}' (known: ${Object.keys(MODEL_PRESETS).join(', ')}; or --arch and --size)`);
          name = preset;
          config = MODEL_PRESETS[preset]!;
        } else {
          if (!o.arch || !o.size) throw new Error('give a preset (e.g. roberta-base) or both --arch and --size');
          ({ name, config } = presetConfig(o.arch, o.size));
        }
        const labels = o.labels === undefined ? (config.arch === 'encoder' ? 2 : 0) : parseNonNegativeInt(o.labels, '--labels');
        if (config.arch === 'decoder' && labels !== 0)
          throw new Error('--labels: a decoder has no classification head (its LM head is tied)');
        config = { ...config, numLabels: labels };
        checkOutputDir(o.out, '--out');
        const from = o.vocabFrom ?? join(modelsDir(), 'aimc-enc-tiny');
        const tokFile = from.endsWith('.json') ? from : join(from, 'tokenizer.json');
        if (!existsSync(tokFile)) throw new Error(`--vocab-from: ${tokFile} does not exist`);
        // loadTokenizer reads a folder's tokenizer.json: a file of another name is read from a copy.
        let tokDir = dirname(tokFile);
        if (basename(tokFile) !== 'tokenizer.json') {
          tokDir = mkdtempSync(join(tmpdir(), 'aimc-vocab-'));
          copyFileSync(tokFile, join(tokDir, 'tokenizer.json'));
        }
        const tok = loadTokenizer(tokDir);
        if (!tok) throw new Error(`--vocab-from: ${tokFile} is not a tokenizer`);
        // Ids of the copied tokenizer must index the embedding: sized to it when asked, else checked.
        if (o.vocabFrom) config = { ...config, vocabSize: tok.vocabSize };
        else if (tok.vocabSize > config.vocabSize)
          throw new Error(`the default tokenizer has ${tok.vocabSize} ids, more than ${name}'s ${config.vocabSize}`);
        // The default order puts aimc (no heap ceiling) first: the 355 M sizes do not fit wasm's heap.
        await startBackend(o.backend, true);
        const m = new Transformer(config, o.seed);
        if (o.hf) await saveHuggingFace(m, o.out);
        else await saveCheckpoint(m, o.out, { preset: name, seed: o.seed });
        copyFileSync(tokFile, join(o.out, 'tokenizer.json'));
        const layout = o.hf ? 'Hugging Face layout' : 'aimc checkpoint';
        console.log(
          `${o.out}: ${name} (${(m.parameterCount() / 1e6).toFixed(1)} M parameters, random weights, seed '${o.seed}', ${layout})`,
        );
        m.dispose();
      },
    );

  model
    .command('map')
    .description('tiles per layer on a device: utilization, analog vs digital parameters')
    .argument('<model>', 'shipped model name or checkpoint directory')
    .requiredOption('--device <device>', 'built-in profile name or profile JSON')
    .option(...JSON_OPTION)
    .option(...BACKEND_OPTION)
    .action(async (name: string, opts: { device: string; json?: boolean; backend?: string }) => {
      const dev = new DeviceModel(loadProfile(opts.device));
      // Loading the weights makes tensors: on aimc's engine, not tfjs's default cpu backend.
      await startBackend(opts.backend, false);
      const { model: m } = loadModel(name);
      const map = mapModel(defaultAnalogSites(m), m.parameterCount(), dev);
      const { sites: rows, ...summary } = map;
      const analog = summary.analogParameters;
      if (opts.json) console.log(JSON.stringify({ ...summary, sites: rows }, null, 2));
      else {
        const t = table(['site', 'role', 'in × out', 'tiles', 'utilization', 'energy pJ/token', 'latency ns']);
        for (const r of rows)
          t.push([
            r.site,
            r.role,
            `${r.in} × ${r.out}`,
            r.tiles,
            `${(100 * r.utilization).toFixed(1)}%`,
            r.energyPj.toFixed(0),
            r.latencyNs.toFixed(0),
          ]);
        console.log(t.toString());
        const tiles = `${summary.totalTiles} tiles of ${dev.tile.rows}×${dev.tile.cols} on ${dev.name} (${(100 * summary.utilization).toFixed(1)}% of their cells used)`;
        const digital = `digital parameters ${summary.digitalParameters} (embeddings, norms, biases, heads)`;
        console.log(`${tiles}; analog weights ${analog}, ${digital}`);
        console.log(
          `per token: ${(summary.energyPjPerToken / 1e3).toFixed(1)} nJ of analog MVMs, ${(summary.latencyNsPerToken / 1e3).toFixed(2)} µs with the sites one after another (profile cost constants; no adapter)`,
        );
      }
      m.dispose();
    });

  model
    .command('run')
    .description("logits for one input: a classifier's class logits, or a decoder's next-token logits at the last position")
    .argument('<model>', 'shipped model name or checkpoint directory')
    .option('--text <text>', "input text (needs the model's tokenizer)")
    .option('--text-pair <text>', 'second text for pair tasks')
    .option('--ids <list>', 'token ids, e.g. 0,5,7 (encoders: pad ids are masked, as a tokenizer’s attention_mask)')
    .option('--json', 'print {"logits": [...]}')
    .option(...BACKEND_OPTION)
    .action(async (name: string, opts: { text?: string; textPair?: string; ids?: string; json?: boolean; backend?: string }) => {
      if ((opts.text === undefined) === (opts.ids === undefined)) throw new Error('give exactly one of --text or --ids');
      await startBackend(opts.backend, !opts.json);
      const { model: m, tokenizer, dir } = loadModel(name);
      let ids: Int32Array;
      if (opts.ids !== undefined) ids = parseIds(opts.ids, m.config.vocabSize, m.config.maxPositions);
      else {
        if (!tokenizer) throw new Error(`${dir}: no tokenizer.json; use --ids`);
        ids = Int32Array.from(tokenizer.encode(opts.text!, opts.textPair));
      }
      // Pads are masked as a Hugging Face tokenizer's attention_mask would mask them (encoders).
      const pad = m.config.padTokenId;
      const masked = m.config.arch === 'encoder' && ids.includes(pad);
      const batch = { ids, B: 1, T: ids.length, ...(masked ? { mask: Float32Array.from(ids, (t) => (t === pad ? 0 : 1)) } : {}) };
      const logits = tf.tidy(() => {
        if (m.config.arch === 'encoder') return m.classify(batch);
        return tf.slice(m.lmLogits(batch), [ids.length - 1, 0], [1, m.config.vocabSize]);
      });
      const values = Array.from(await logits.data());
      logits.dispose();
      if (opts.json) console.log(JSON.stringify({ logits: values }));
      else {
        console.log(`input ids: ${Array.from(ids).join(',')}`);
        if (m.config.arch === 'encoder') console.log(`logits: ${values.map((v) => v.toFixed(6)).join(' ')}`);
        else {
          const top = values
            .map((v, i) => [v, i] as const)
            .sort((a, b) => b[0] - a[0])
            .slice(0, 10);
          console.log('top next tokens:');
          for (const [v, i] of top) console.log(`  ${i}${tokenizer ? ` ${JSON.stringify(tokenizer.decode([i]))}` : ''}  ${v.toFixed(4)}`);
        }
      }
      m.dispose();
    });

  model
    .command('eval')
    .description(
      'language-model quality on a text split: masked-LM (encoder) or causal-LM (decoder) loss, accuracy, perplexity, bits per byte',
    )
    .argument('<model>', 'shipped model name or checkpoint directory')
    .option(
      '--dataset <name>',
      'text dataset (aimc data info); brown-text dev is the yardstick the shipped models are compared on',
      'brown-text',
    )
    .option('--split <split>', 'train | dev | test', 'dev')
    .option('--seq <n>', "tokens per sequence (default: 128, or the model's positions if fewer)")
    .option('--limit <n>', 'at most this many sequences, spread over the split (default: all)')
    .option('--batch <n>', 'sequences per forward pass', '16')
    .option('--seed <s>', 'masking stream (encoder)', 'aimc/lm-eval')
    .option('--json', 'print {"loss","accuracy","perplexity","bitsPerByte","tokens"}')
    .option(...BACKEND_OPTION)
    .action(async (name: string, opts: EvalOptions) => {
      if (!['train', 'dev', 'test'].includes(opts.split)) throw new Error(`--split: expected train, dev or test, got '${opts.split}'`);
      const limit = opts.limit === undefined ? undefined : parsePositiveInt(opts.limit, '--limit');
      const batchSize = parsePositiveInt(opts.batch, '--batch');
      const data = loadDataset(opts.dataset);
      if (!data[opts.split as 'train' | 'dev' | 'test'].length) throw new Error(`${opts.dataset}: the ${opts.split} split is empty`);
      await startBackendFor(opts.backend, !opts.json, name, batchSize, opts.seq === undefined ? 128 : parsePositiveInt(opts.seq, '--seq'));
      const { model: m, tokenizer, dir } = loadModel(name);
      try {
        if (!tokenizer) throw new Error(`${dir}: no tokenizer.json`);
        const seq = opts.seq === undefined ? undefined : parsePositiveInt(opts.seq, '--seq');
        const r = (() => {
          try {
            return evaluateLanguageModel(m, tokenizer, data, {
              split: opts.split as 'train' | 'dev' | 'test',
              ...(seq === undefined ? {} : { seqLen: seq }),
              ...(limit === undefined ? {} : { limit }),
              batchSize,
              seed: opts.seed,
              optionName: (k) => (k === 'seqLen' ? '--seq' : '--split'),
            });
          } catch (e) {
            throw new Error(`${dir}: ${(e as Error).message}`);
          }
        })();
        const seqLen = r.seqLen;
        if (opts.json) {
          const { loss, accuracy, perplexity, bitsPerByte, tokens } = r;
          console.log(JSON.stringify({ loss, accuracy, perplexity, bitsPerByte, tokens }));
        } else {
          const kind = m.config.arch === 'encoder' ? 'masked-token' : 'next-token';
          const what = `${r.sequences} sequences of ${seqLen} tokens, ${r.tokens} predicted tokens (${r.bytes} bytes of text)`;
          console.log(`${name} on ${opts.dataset} ${opts.split}: ${what}`);
          const t = table(['loss (nats/token)', `${kind} accuracy`, 'perplexity', 'bits per byte']);
          t.push([r.loss.toFixed(4), r.accuracy.toFixed(4), r.perplexity.toFixed(2), r.bitsPerByte.toFixed(4)]);
          console.log(t.toString());
        }
      } finally {
        m.dispose();
      }
    });
}
