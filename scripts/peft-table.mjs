#!/usr/bin/env node
/**
 * The adapter comparison table of issue 5: every plugin on aimc-enc-tiny for spam and
 * brown-genre, 3 seeds, with and without hardware-aware training on pcm-nandakumar-2019.
 * Each run is `aimc finetune` into runs/peft-table/<task>/<adapter>[-hwa]/<seed>; a run whose
 * finetune.json exists is skipped, so the script resumes after an interruption. At the end
 * (or with --report) it prints a markdown table of dev metric mean ± std and trainable counts.
 *
 *   node scripts/peft-table.mjs [--report] [--steps 300] [--only grasp,lora] [--tasks spam]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const OUT = join(root, 'runs', 'peft-table');
const TASKS = opt('tasks', 'spam,brown-genre').split(',');
const SEEDS = ['s1', 's2', 's3'];
// Peak learning rates: full fine-tuning as in the shipped model's check; the small methods ~10–30× higher, as is usual.
const ADAPTERS = {
  full: { lr: '2e-4' },
  head: { lr: '3e-3' },
  grasp: { lr: '3e-3', config: { groups: 8 } },
  stochgrasp: { lr: '3e-3', config: { groups: 8 } },
  lora: { lr: '1e-3', config: { rank: 8 } },
  bitfit: { lr: '3e-3' },
  ia3: { lr: '3e-3' },
};
const only = opt('only', Object.keys(ADAPTERS).join(',')).split(',');
const COMMON = ['--model', 'aimc-enc-tiny', '--steps', opt('steps', '300'), '--batch', '16', '--seq', '64', '--warmup', '30', '--eval-every', '100', '--eval-limit', '400'];
const HWA = ['--hwa', 'pcm-nandakumar-2019', '--hwa-time', '1d'];

function runDir(task, adapter, hwa, seed) {
  return join(OUT, task, `${adapter}${hwa ? '-hwa' : ''}`, seed);
}

if (!args.includes('--report')) {
  const jobs = [];
  for (const task of TASKS) for (const hwa of [false, true]) for (const adapter of only) for (const seed of SEEDS) jobs.push({ task, adapter, hwa, seed });
  let done = 0;
  for (const j of jobs) {
    const dir = runDir(j.task, j.adapter, j.hwa, j.seed);
    done++;
    if (existsSync(join(dir, 'finetune.json'))) continue;
    const a = ADAPTERS[j.adapter];
    const cmd = ['bin/aimc.js', 'finetune', ...COMMON, '--task', j.task, '--adapter', j.adapter, '--lr', a.lr, '--seed', j.seed, '--out', dir, ...(a.config ? ['--config', JSON.stringify(a.config)] : []), ...(j.hwa ? HWA : [])];
    const t0 = Date.now();
    execFileSync('node', cmd, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    console.error(`[${done}/${jobs.length}] ${j.task} ${j.adapter}${j.hwa ? ' hwa' : ''} ${j.seed}: ${Math.round((Date.now() - t0) / 1000)} s`);
  }
}

const stats = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(100 * m).toFixed(1)} ± ${(100 * s).toFixed(1)}`;
};
const lines = ['| adapter | trainable (head excluded) | + head | ' + TASKS.flatMap((t) => [`${t} dev acc %`, `${t} dev acc % (HWA)`]).join(' | ') + ' |'];
lines.push('|' + ' --- |'.repeat(3 + 2 * TASKS.length));
for (const adapter of only) {
  let counts = null;
  const cells = [];
  for (const task of TASKS) {
    for (const hwa of [false, true]) {
      const vals = [];
      for (const seed of SEEDS) {
        const f = join(runDir(task, adapter, hwa, seed), 'finetune.json');
        if (!existsSync(f)) continue;
        const j = JSON.parse(readFileSync(f, 'utf8'));
        counts = j.counts;
        vals.push(j.dev[j.mainMetric]);
      }
      cells.push(vals.length ? `${stats(vals)}${vals.length < SEEDS.length ? ` (n=${vals.length})` : ''}` : '—');
    }
  }
  lines.push(`| ${adapter} | ${counts?.trainable ?? '—'} | ${counts?.head ?? '—'} | ${cells.join(' | ')} |`);
}
console.log(lines.join('\n'));
