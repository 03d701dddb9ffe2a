/** Shared CLI plumbing. */
import Table from 'cli-table3';
import { activeBackend, backendBanner, initBackend, WASM_HEAP_BYTES } from '../tensor/backend.js';
import { activationFloats } from '../model/layout.js';
import { describeModel } from '../model/load.js';
import { nativeAddon, nativeUnavailableReason } from '../tensor/kernels/index.js';

/** Initialize the backend; long commands announce it on stderr so stdout stays parseable. */
export async function startBackend(requested: string | undefined, announce: boolean, why?: string): Promise<void> {
  await initBackend(requested);
  if (announce) console.error(backendBanner() + (why ? ` — ${why}` : ''));
}

/**
 * Start the backend for work on MODEL (batch × seq tokens a step). The default order puts the
 * aimc backend (no heap ceiling) first wherever the native kernels build; when the work lands
 * on wasm anyway (requested, or no addon) and will not fit its 4 GB heap, the banner says so
 * before the run can abort. Estimate: weights and activations (~28 floats per token, layer
 * and width, as the spec check counts them), ×3 for the temporaries of a step — calibrated
 * on RoBERTa-base, whose fine-tuning at 8 × 128 tokens aborts on wasm (estimate ×3 = 6 GB)
 * and at 2 × 32 runs (1.8 GB).
 */
export async function startBackendFor(
  requested: string | undefined,
  announce: boolean,
  model: string,
  batch: number,
  seq: number,
): Promise<void> {
  await initBackend(requested);
  if (!announce) return;
  const warn = activeBackend() === 'wasm' ? wasmHeapWarning(model, batch, seq) : undefined;
  console.error(backendBanner() + (warn ? ` — ${warn}` : ''));
}

/** A warning when MODEL at batch × seq tokens is estimated not to fit wasm's heap, else undefined. */
export function wasmHeapWarning(model: string, batch: number, seq: number): string | undefined {
  const { config: c, layout } = describeModel(model);
  const T = Math.min(seq, c.maxPositions);
  const bytes = 3 * 4 * (layout.parameters + activationFloats(c, batch, T));
  if (bytes <= WASM_HEAP_BYTES) return undefined;
  const need = `${(layout.parameters / 1e6).toFixed(1)} M parameters at ${batch} × ${T} tokens need ~${(bytes / 2 ** 30).toFixed(1)} GB`;
  const alt = nativeAddon()
    ? '--backend aimc has no such ceiling'
    : `the aimc backend, which has no such ceiling, needs the native kernels (${nativeUnavailableReason()})`;
  return `warning: ${need}, more than wasm's 4 GB heap, and may abort; ${alt}`;
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
