/** Shared CLI plumbing. */
import Table from 'cli-table3';
import { backendBanner, initBackend } from '../tensor/backend.js';

/** Initialize the backend; long commands announce it on stderr so stdout stays parseable. */
export async function startBackend(requested: string | undefined, announce: boolean): Promise<void> {
  await initBackend(requested);
  if (announce) console.error(backendBanner());
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
