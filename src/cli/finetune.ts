/** `aimc finetune` — for now the `full` method on classification tasks (plugins: issue 5). */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadDataset } from '../data/datasets.js';
import { loadModel } from '../model/load.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { finetuneClassifier } from '../train/classify.js';
import { parsePositiveInt } from './parse.js';
import { startBackend } from './common.js';

const AVAILABLE = ['full'];

/** Register `aimc finetune`. */
export function registerFinetuneCommand(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune an encoder on a classification task and write the result')
    .requiredOption('--model <model>', 'shipped model name or aimc checkpoint directory')
    .requiredOption('--task <task>', 'spam | brown-genre | GLUE folder | .jsonl/.csv file')
    .requiredOption('--out <dir>', 'output directory')
    .option('--adapter <name>', `method (${AVAILABLE.join(', ')})`, 'full')
    .option('--steps <n>', 'optimizer steps', '600')
    .option('--batch <n>', 'examples per step', '16')
    .option('--seq <n>', 'max tokens per example', '128')
    .option('--lr <x>', 'peak learning rate', '1e-4')
    .option('--warmup <n>', 'warmup steps', '60')
    .option('--eval-every <n>', 'steps between dev evaluations', '100')
    .option('--seed <s>', 'seed', 'aimc')
    .option('--backend <name>', 'tensorflow | wasm | cpu')
    .action(async (o: Record<string, string>) => {
      if (!AVAILABLE.includes(o.adapter!)) {
        throw new Error(`--adapter: '${o.adapter}' is not available yet — the PEFT plugin host arrives with issue 5 (available: ${AVAILABLE.join(', ')})`);
      }
      await startBackend(o.backend, true);
      const data = loadDataset(o.task!);
      if (data.kind !== 'classification') throw new Error(`--task: ${data.name} is a ${data.kind} task; finetune handles classification for now`);
      const { dir, tokenizer, model: probe } = loadModel(o.model!);
      probe.dispose();
      if (!tokenizer) throw new Error(`${dir}: no tokenizer.json`);
      const model = loadCheckpoint(dir, { numLabels: data.labels.length });
      if (model.config.arch !== 'encoder') throw new Error(`${dir}: finetune needs an encoder`);
      const total = model.parameterCount();
      const head = ['head.dense.weight', 'head.dense.bias', 'head.out.weight', 'head.out.bias'].reduce((a, n) => a + (model.params.get(n)?.size ?? 0), 0);
      console.log(`${o.adapter}: ${total} trainable parameters (100% of ${total - head} base + ${head} head)`);
      const steps = parsePositiveInt(o.steps!, '--steps');
      const start = performance.now();
      const res = finetuneClassifier(model, data, tokenizer, {
        steps,
        batchSize: parsePositiveInt(o.batch!, '--batch'),
        seqLen: parsePositiveInt(o.seq!, '--seq'),
        lr: Number(o.lr),
        warmup: parsePositiveInt(o.warmup!, '--warmup'),
        weightDecay: 0.01,
        clip: 1,
        evalEvery: parsePositiveInt(o.evalEvery!, '--eval-every'),
        seed: o.seed!,
        onProgress: (p) => {
          if (p.dev !== undefined) console.error(`step ${p.step}/${steps}: loss ${p.loss.toFixed(4)}, dev accuracy ${p.dev.toFixed(4)}`);
        },
      });
      mkdirSync(o.out!, { recursive: true });
      await saveCheckpoint(model, o.out!);
      if (existsSync(join(dir, 'tokenizer.json'))) copyFileSync(join(dir, 'tokenizer.json'), join(o.out!, 'tokenizer.json'));
      const majority = Math.max(...data.labels.map((_, i) => data.test.filter((e) => e.label === i).length)) / Math.max(data.test.length, 1);
      const summary = { command: `aimc finetune ${process.argv.slice(3).join(' ')}`, task: data.name, adapter: o.adapter, trainable: total, head, bestStep: res.step, devAccuracy: res.dev, testAccuracy: res.test, majorityClassTest: majority, seconds: Math.round((performance.now() - start) / 1000) };
      writeFileSync(join(o.out!, 'finetune.json'), JSON.stringify(summary, null, 2) + '\n');
      console.log(`dev accuracy ${res.dev.toFixed(4)} (best at step ${res.step}), test accuracy ${res.test.toFixed(4)} (majority class ${majority.toFixed(4)})`);
      model.dispose();
    });
}
