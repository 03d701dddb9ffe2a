/** TEMPORARY minimal loader (lead's stub while the validator is written). */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceProfile } from './types.js';

export interface ProfileProblem { path: string; message: string }
export class ProfileError extends Error {
  constructor(readonly file: string, readonly problems: ProfileProblem[]) {
    super(problems.map((p) => `${file}: ${p.path}: ${p.message}`).join('\n'));
  }
}
function findDevicesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'devices', 'pcm-nandakumar-2019.json'))) return join(dir, 'devices');
    dir = resolve(dir, '..');
  }
  throw new Error('devices/ not found');
}
export const DEVICES_DIR = findDevicesDir();
export function validateProfile(json: unknown, file: string): DeviceProfile {
  const p = json as DeviceProfile;
  if (!(p.conductance?.gMax > 0)) throw new ProfileError(file, [{ path: '/conductance/gMax', message: 'expected number > 0' }]);
  return p;
}
export function parseProfileText(text: string, file: string): DeviceProfile {
  return validateProfile(JSON.parse(text), file);
}
export function loadProfile(nameOrFile: string): DeviceProfile {
  const builtin = join(DEVICES_DIR, `${nameOrFile}.json`);
  const file = existsSync(builtin) ? builtin : nameOrFile;
  if (!existsSync(file)) throw new Error(`unknown device '${nameOrFile}' (built-in: ${listProfiles().map((p) => p.name).join(', ')})`);
  return parseProfileText(readFileSync(file, 'utf8'), file);
}
export function listProfiles(): { name: string; description: string; file: string }[] {
  return readdirSync(DEVICES_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'device.schema.json')
    .map((f) => {
      const p = JSON.parse(readFileSync(join(DEVICES_DIR, f), 'utf8')) as DeviceProfile;
      return { name: p.name, description: p.description, file: join(DEVICES_DIR, f) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
