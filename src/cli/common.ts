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
