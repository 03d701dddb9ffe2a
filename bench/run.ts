/**
 * `npm run bench [-- --only a,b] [-- --json]`: median throughput of >= 5 timed runs per
 * workload as JSON lines {"workload","engine","value","unit"}; when PyTorch is importable by
 * /usr/bin/python3, also runs ../shared/bench/torch_reference.py in the same invocation
 * (at --threads 1 and 2, keeping the faster per workload, as that script advises) and
 * prints {"workload","ratio"} lines (aimc / torch; higher is better).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { WORKLOADS } from './workloads.js';
import { initBackend, backendBanner } from '../src/tensor/backend.js';

interface Line {
  workload: string;
  engine: string;
  value: number;
  unit: string;
}

const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Locate the reference script: AIMC_TORCH_REFERENCE, else ../shared/bench beside the repo. */
function referencePath(): string | null {
  if (process.env.AIMC_TORCH_REFERENCE) return process.env.AIMC_TORCH_REFERENCE;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = resolve(dir, '../shared/bench/torch_reference.py');
    if (existsSync(p)) return p;
    dir = resolve(dir, '..');
  }
  return null;
}

/** Run the PyTorch reference; null (with a reason on stderr) when it cannot run. */
function runReference(only: string[]): Map<string, Line> | null {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.error('bench: PyTorch not importable by /usr/bin/python3; no ratios (apt-get install python3-torch libopenblas0-pthread)');
    return null;
  }
  const script = referencePath();
  if (!script) {
    console.error('bench: ../shared/bench/torch_reference.py not found (set AIMC_TORCH_REFERENCE); no ratios');
    return null;
  }
  const best = new Map<string, Line>();
  for (const threads of ['1', '2']) {
    const args = [script, '--threads', threads, ...(only.length ? ['--only', only.join(',')] : [])];
    const r = spawnSync(py, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) {
      console.error(`bench: reference failed (--threads ${threads}): ${r.stderr.trim().split('\n').pop()}`);
      continue;
    }
    for (const text of r.stdout.trim().split('\n')) {
      const l = JSON.parse(text) as Line;
      const prev = best.get(l.workload);
      if (!prev || l.value > prev.value) best.set(l.workload, { ...l, engine: `${l.engine} --threads ${threads}` });
    }
  }
  return best;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench')
    .option('--only <list>', 'comma-separated workloads')
    .option('--json', 'JSON lines only (no summary table)')
    .option('--no-reference', 'skip the PyTorch reference')
    .option('--backend <name>', 'tensorflow | aimc | wasm | cpu')
    .parse(process.argv);
  const opts = program.opts<{ only?: string; json?: boolean; reference: boolean; backend?: string }>();
  const only = opts.only ? opts.only.split(',').map((s) => s.trim()) : [];
  const unknown = only.filter((w) => !WORKLOADS.some((x) => x.name === w));
  if (unknown.length)
    throw new Error(`--only: unknown workload(s) ${unknown.join(', ')} (have ${WORKLOADS.map((w) => w.name).join(', ')})`);
  const backend = await initBackend(opts.backend);
  console.error(backendBanner());
  const ours: Line[] = [];
  for (const w of WORKLOADS.filter((x) => !only.length || only.includes(x.name))) {
    const inst = w.setup();
    for (let i = 0; i < (w.warm ?? 3); i++) inst.run();
    const rates: number[] = [];
    for (let r = 0; r < (w.runs ?? RUNS); r++) {
      const t0 = performance.now();
      for (let i = 0; i < w.reps; i++) inst.run();
      const dt = (performance.now() - t0) / 1000 / w.reps;
      rates.push(w.items / dt);
    }
    inst.dispose();
    const line: Line = { workload: w.name, engine: `aimc-${backend}`, value: Math.round(median(rates) * 10) / 10, unit: w.unit };
    ours.push(line);
    console.log(JSON.stringify(line));
  }
  if (tf.memory().numTensors > 0) console.error(`bench: ${tf.memory().numTensors} tensors left alive`);
  const ref = opts.reference ? runReference(only.length ? only : ours.map((l) => l.workload)) : null;
  if (!ref) return;
  for (const l of ours) {
    const r = ref.get(l.workload);
    if (!r) continue;
    console.log(JSON.stringify(r));
    console.log(JSON.stringify({ workload: l.workload, ratio: Math.round((l.value / r.value) * 1000) / 1000 }));
  }
  if (!opts.json) {
    console.error('\nworkload       aimc              torch             ratio');
    for (const l of ours) {
      const r = ref.get(l.workload);
      if (r)
        console.error(
          `${l.workload.padEnd(14)} ${l.value.toExponential(3).padEnd(17)} ${r.value.toExponential(3).padEnd(17)} ${(l.value / r.value).toFixed(3)}`,
        );
    }
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
