#!/usr/bin/env node
/**
 * The adapter comparison table: every plugin on a shipped encoder (--model, default
 * aimc-enc-small when shipped, else aimc-enc-tiny) for spam and brown-genre, 3 seeds, with and
 * without hardware-aware training on pcm-nandakumar-2019. Each method trains with its own
 * recommended settings (the plugin's learning rate; aimc's defaults for the rest) within the
 * table's fixed budget (BUDGET below: the same steps, batch and length for every method).
 * Each run is `aimc finetune` into runs/peft-table/<task>/<adapter>[-hwa]/<seed> (git-ignored);
 * its summary is appended to results/peft-table.jsonl (kept in the repository), and a run
 * already recorded there is skipped, so the script resumes after an interruption — also on
 * another machine. At the end (or with --report) it prints a markdown table of the dev metric
 * (mean ± std over seeds) and the trainable counts.
 *
 *   node scripts/peft-table.mjs [--model aimc-enc-small] [--report] [--only grasp,lora] [--tasks spam]
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const OUT = join(root, 'runs', 'peft-table');
const RECORD = join(root, 'results', 'peft-table.jsonl');
const TASKS = opt('tasks', 'spam,brown-genre').split(',');
const SEEDS = ['s1', 's2', 's3'];
const MODEL = opt('model', existsSync(join(root, 'models', 'aimc-enc-small', 'config.json')) ? 'aimc-enc-small' : 'aimc-enc-tiny');
// Configs only: learning rates and the other settings are each plugin's recommendation.
const ADAPTERS = {
  full: {},
  head: {},
  grasp: { config: { groups: 8 } },
  'grasp-permuted': { adapter: 'grasp', config: { groups: 8, grouping: 'permuted' } },
  // StochGRASP's target noise: the device of the HWA runs, at the same horizon, for both settings.
  stochgrasp: { config: { groups: 8, device: 'pcm-nandakumar-2019', horizon: '1d' } },
  lora: { config: { rank: 8 } },
  bitfit: {},
  ia3: {},
};
const only = opt('only', Object.keys(ADAPTERS).join(',')).split(',');
// The table's budget, the same for every method (the rest: the plugin's and aimc's defaults).
const BUDGET = ['--steps', '300', '--batch', '16', '--seq', '64', '--eval-every', '100', '--eval-limit', '400'];
const HWA = ['--hwa', 'pcm-nandakumar-2019', '--hwa-time', '1d'];

function runDir(task, adapter, hwa, seed) {
  return join(OUT, MODEL.replace(/[^A-Za-z0-9._-]+/g, '_'), task, `${adapter}${hwa ? '-hwa' : ''}`, seed);
}

function records() {
  if (!existsSync(RECORD)) return [];
  const text = readFileSync(RECORD, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// Records from before the model was recorded are aimc-enc-tiny's.
const modelOf = (r) => r.model ?? 'aimc-enc-tiny';
const keyOf = (r) => `${modelOf(r)}|${r.task}|${r.adapter}|${r.hwa}|${r.seed}`;

if (!args.includes('--report')) {
  const jobs = [];
  for (const task of TASKS) for (const hwa of [false, true]) for (const adapter of only) for (const seed of SEEDS) jobs.push({ model: MODEL, task, adapter, hwa, seed });
  let done = 0;
  for (const j of jobs) {
    const dir = runDir(j.task, j.adapter, j.hwa, j.seed);
    done++;
    if (new Set(records().map(keyOf)).has(keyOf(j))) continue;
    const a = ADAPTERS[j.adapter];
    const cmd = ['bin/aimc.js', 'finetune', '--model', MODEL, ...BUDGET, '--task', j.task, '--adapter', a.adapter ?? j.adapter, '--seed', j.seed, '--out', dir, ...(a.config ? ['--config', JSON.stringify(a.config)] : []), ...(j.hwa ? HWA : [])];
    const t0 = Date.now();
    execFileSync('node', cmd, { cwd: root, stdio: ['ignore', 'ignore', 'ignore'] });
    const f = JSON.parse(readFileSync(join(dir, 'finetune.json'), 'utf8'));
    mkdirSync(dirname(RECORD), { recursive: true });
    appendFileSync(RECORD, JSON.stringify({ ...j, training: f.training?.settings, config: f.config, counts: f.counts, metric: f.mainMetric, bestStep: f.bestStep, dev: f.dev, test: f.test, seconds: f.seconds }) + '\n');
    console.error(`[${done}/${jobs.length}] ${j.task} ${j.adapter}${j.hwa ? ' hwa' : ''} ${j.seed}: ${Math.round((Date.now() - t0) / 1000)} s`);
  }
}

const stats = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(100 * m).toFixed(1)} ± ${(100 * s).toFixed(1)}`;
};
const all = records().filter((r) => modelOf(r) === MODEL);
const lines = ['| adapter | trainable (head excluded) | ' + TASKS.flatMap((t) => [`${t} dev acc %`, `${t} dev acc % (HWA)`]).join(' | ') + ' |'];
lines.push('|' + ' --- |'.repeat(2 + 2 * TASKS.length));
const heads = new Map();
for (const adapter of only) {
  let counts = null;
  const cells = [];
  for (const task of TASKS) {
    for (const hwa of [false, true]) {
      const vals = [];
      for (const j of all.filter((r) => r.task === task && r.adapter === adapter && r.hwa === hwa)) {
        counts = j.counts;
        heads.set(task, j.counts.head);
        vals.push(j.dev[j.metric]);
      }
      cells.push(vals.length ? `${stats(vals)}${vals.length < SEEDS.length ? ` (n=${vals.length})` : ''}` : '—');
    }
  }
  lines.push(`| ${adapter} | ${counts?.trainable ?? '—'} | ${cells.join(' | ')} |`);
}
lines.push('', `${MODEL}. Dev accuracy in %, mean ± std over ${SEEDS.length} seeds (digital evaluation; HWA = trained on pcm-nandakumar-2019 weights at t = 1 d). Task head, trained by every adapter and counted apart: ${[...heads].map(([t, h]) => `${t} ${h}`).join(', ')}.`);
console.log(lines.join('\n'));
