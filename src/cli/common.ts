/** Shared CLI plumbing. */
import Table from 'cli-table3';
import { backendBanner, initBackend, WASM_HEAP_BYTES } from '../tensor/backend.js';
import { activationFloats } from '../model/layout.js';
import { describeModel } from '../model/load.js';
import { nativeAddon } from '../tensor/kernels/index.js';

/** Initialize the backend; long commands announce it on stderr so stdout stays parseable. */
export async function startBackend(requested: string | undefined, announce: boolean, why?: string): Promise<void> {
  await initBackend(requested);
  if (announce) console.error(backendBanner() + (why ? ` — ${why}` : ''));
}

/**
 * Start the backend for work on MODEL (batch × seq tokens a step). Unless a backend is
 * requested (flag or AIMC_BACKEND), a model whose estimated needs exceed wasm's 4 GB heap
 * runs on the aimc backend when the native kernels are there, and the banner says why.
 * Estimate: weights and activations (~28 floats per token, layer and width, as the spec
 * check counts them), ×3 for the temporaries of a step — calibrated on RoBERTa-base, whose
 * fine-tuning at 8 × 128 tokens aborts on wasm (estimate ×3 = 6 GB) and at 2 × 32 runs (1.8 GB).
 */
export async function startBackendFor(
  requested: string | undefined,
  announce: boolean,
  model: string,
  batch: number,
  seq: number,
): Promise<void> {
  if (requested !== undefined || process.env.AIMC_BACKEND) return startBackend(requested, announce);
  const c = backendChoice(model, batch, seq);
  return startBackend(c.backend, announce, c.why);
}

/** The automatic backend for MODEL at batch × seq tokens (see startBackendFor): aimc or the default order. */
export function backendChoice(model: string, batch: number, seq: number): { backend: 'aimc' | undefined; why?: string } {
  const { config: c, layout } = describeModel(model);
  const T = Math.min(seq, c.maxPositions);
  const bytes = 3 * 4 * (layout.parameters + activationFloats(c, batch, T));
  if (bytes <= WASM_HEAP_BYTES) return { backend: undefined };
  const need = `${(layout.parameters / 1e6).toFixed(1)} M parameters at ${batch} × ${T} tokens need ~${(bytes / 2 ** 30).toFixed(1)} GB`;
  if (!nativeAddon())
    return { backend: undefined, why: `${need}, more than wasm's 4 GB heap; without the native kernels there is no aimc backend` };
  return { backend: 'aimc', why: `chosen because ${need}, more than wasm's 4 GB heap` };
}

/** A compact table (no row separators, no colours) for terminal output. */
export function table(head: string[], opts: { colWidths?: number[]; wordWrap?: boolean } = {}): InstanceType<typeof Table> {
  return new Table({ head, style: { head: [], border: [], compact: true }, ...opts });
}

/**
 * Options of a progress bar (cli-progress) with this format. Not a terminal (CI, a log file):
 * a progress line every 30 s instead of a live bar.
 */
export function progressOptions(format: string): { format: string; hideCursor: true; noTTYOutput: true; notTTYSchedule: number } {
  return { format, hideCursor: true, noTTYOutput: true, notTTYSchedule: 30_000 };
}

/** An option as commander's `.option(flags, description, default)` takes it. */
export type OptionArgs = readonly [flags: string, description: string, defaultValue?: string];

/** `--backend`: every command that computes takes it. */
export const BACKEND_OPTION: OptionArgs = ['--backend <name>', 'tensorflow | aimc | wasm | cpu'];
/** `--seed` of the commands that train or deploy. */
export const SEED_OPTION: OptionArgs = ['--seed <s>', 'seed', 'aimc'];
/** `--json` of the commands whose JSON is their table as it is. */
export const JSON_OPTION: OptionArgs = ['--json', 'print JSON'];
/** `--model` of the commands that load a model (a required option). */
export const MODEL_OPTION: OptionArgs = ['--model <model>', 'shipped model name or checkpoint directory'];
