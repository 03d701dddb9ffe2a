/**
 * What a queue job carries: everything a worker needs to compute exactly what the local run
 * would, and the checksums of what it must have itself (the base model, the task's data, the
 * plugin's code, the built-in device profiles), so a worker with other files fails the job
 * with a clear message instead of computing a different result.
 */
import { readFileSync } from 'node:fs';
import type { DeploySpec } from '../deploy/deployment.js';
import type { TrainTask } from '../experiment/train-task.js';
import { deviceFingerprint, modelFingerprint, pluginFingerprint, taskFingerprint } from '../experiment/fingerprint.js';
import { listProfiles } from '../device/profile.js';
import { loadPlugin } from '../peft/registry.js';

export interface Fingerprints {
  model: string;
  task: string;
  /** Plugin name or path → checksum of its code (train jobs; trial jobs load the adapter's plugin too). */
  plugins: Record<string, string>;
  /** Built-in device profile name → checksum (profiles given as files travel in the job). */
  devices: Record<string, string>;
}

export interface TrainPayload {
  kind: 'train';
  experiment: string;
  task: TrainTask;
  /** Profile files the training reads (HWA device, noise-aware target) → their text. */
  profiles: Record<string, string>;
  fingerprints: Fingerprints;
}

export interface TrialPayload {
  kind: 'trial';
  experiment: string;
  /** The deployment, its adapter to be replaced by the worker's copy of artifact `adapterHash`. */
  spec: DeploySpec;
  adapterHash: string;
  trial: number;
  /** The device profile's text when the spec names a file (absent for a built-in name). */
  profile?: string;
  fingerprints: Fingerprints;
}

export type JobPayload = TrainPayload | TrialPayload;

/** Whether a device string names a built-in profile (else it is a file). */
export function isBuiltinDevice(device: string): boolean {
  return listProfiles().some((p) => p.name === device);
}

/** The checksums a job's worker must match. */
export async function fingerprintsFor(o: { model: string; task: string; plugins: string[]; devices: string[] }): Promise<Fingerprints> {
  const plugins: Record<string, string> = {};
  for (const p of o.plugins) plugins[p] = pluginFingerprint(await loadPlugin(p));
  return {
    model: modelFingerprint(o.model),
    task: taskFingerprint(o.task),
    plugins,
    devices: Object.fromEntries(o.devices.filter(isBuiltinDevice).map((d) => [d, deviceFingerprint(d)])),
  };
}

/** The text of each profile file among `devices` (built-in names travel as names). */
export function profileTexts(devices: string[]): Record<string, string> {
  return Object.fromEntries(devices.filter((d) => !isBuiltinDevice(d)).map((d) => [d, readFileSync(d, 'utf8')]));
}

/** Compare the job's checksums with this machine's files; the first difference, or null when all match. */
export async function fingerprintMismatch(f: Fingerprints, model: string, task: string): Promise<string | null> {
  const here = await fingerprintsFor({ model, task, plugins: Object.keys(f.plugins), devices: Object.keys(f.devices) });
  if (here.model !== f.model) return `base model '${model}' differs from the coordinator's (checksum ${here.model} here, ${f.model} there)`;
  if (here.task !== f.task) return `task '${task}' differs from the coordinator's (checksum ${here.task} here, ${f.task} there)`;
  for (const [p, h] of Object.entries(f.plugins)) {
    if (here.plugins[p] !== h) return `plugin '${p}' differs from the coordinator's (checksum ${here.plugins[p]} here, ${h} there)`;
  }
  for (const [d, h] of Object.entries(f.devices)) {
    if (here.devices[d] !== h) return `device profile '${d}' differs from the coordinator's (checksum ${here.devices[d]} here, ${h} there)`;
  }
  return null;
}
