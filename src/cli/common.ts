/** Shared CLI plumbing. */
import { backendBanner, initBackend } from '../tensor/backend.js';

/** Initialize the backend; long commands announce it on stderr so stdout stays parseable. */
export async function startBackend(requested: string | undefined, announce: boolean): Promise<void> {
  await initBackend(requested);
  if (announce) console.error(backendBanner());
}
