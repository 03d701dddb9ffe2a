/**
 * Experiment specs: JSON validated against experiments/experiment.schema.json (ajv, every
 * problem at once, each as `FILE: /json/pointer: what was expected`), then checked for what a
 * schema cannot say — plugins and their configs, devices, durations, model, task — so a bad
 * spec is refused before any work starts.
 */
import { engineMemoryLimit } from '../tensor/backend.js';
import { activationFloats } from '../model/layout.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { JsonError, parseStrictJson, readJsonFile, readTextFile } from '../input/json.js';
import { packageRoot } from '../input/package-root.js';
import { AJV_DESCRIBE, describeSchemaErrors, problemLine } from '../input/schema-errors.js';
import { parseDuration } from '../input/values.js';
import { atTemperature, loadProfile, parseTemperature, withTile } from '../device/profile.js';
import { checkTrainable, loadDataset, type Dataset } from '../data/datasets.js';
import { loadModel } from '../model/load.js';
import { createAdapter, validatePluginConfig } from '../peft/host.js';
import { DeviceModel } from '../device/model.js';
import { loadPlugin } from '../peft/registry.js';
import type { LoadedPlugin } from '../peft/types.js';
import type { TrainingSettings } from '../train/settings.js';

/** Training settings a spec gives (any subset; the rest is resolved by src/train/settings.ts). */
export type SpecTraining = Partial<TrainingSettings>;

export type HwaSetting = false | { device: string; time?: string | number; periphery?: boolean };

export interface ExperimentSpec {
  name: string;
  description?: string;
  model: string;
  task: string;
  training?: SpecTraining;
  evaluation?: { split?: 'test' | 'dev'; limit?: number; seq?: number; batch?: number };
  adapters: { label?: string; plugin: string; config?: Record<string, unknown>; training?: SpecTraining; hwa?: HwaSetting[] }[];
  devices: {
    device: string;
    noiseScales?: number[];
    compensation?: boolean;
    temperature?: string;
    tile?: { rows: number; cols: number };
  }[];
  times: (string | number)[];
  trials: number;
  seeds?: string[];
  placement?: 'default' | 'digital' | 'merged';
  workers?: number;
  /** Pairs of adapter labels (`label+hwa` for a hardware-aware variant) compared in the report. */
  compare?: [string, string][];
}

/** A spec that failed validation: every problem, each naming the file and JSON path. */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid experiment spec:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

const schemaFile = (): string => join(packageRoot(), 'experiments', 'experiment.schema.json');

let compiled: { root: object; validate: ValidateFunction } | null = null;

/** The schema's patterns in words, for messages. */
const PATTERN_WORDS = { '^[A-Za-z0-9][A-Za-z0-9._-]*$': "letters, digits, '.', '_' or '-', starting with a letter or digit" };

/** Parse and validate a spec text (schema only); throws SpecError listing syntax errors, or duplicated keys and schema problems. */
export function parseSpec(text: string, file: string): ExperimentSpec {
  let parsed;
  try {
    parsed = parseStrictJson(text, file, { duplicates: 'report' });
  } catch (e) {
    if (e instanceof JsonError)
      throw new SpecError(
        file,
        e.problems.map((p) => (p.path ? problemLine(p) : p.message)),
      );
    throw e;
  }
  const json = parsed.value;
  if (!compiled) {
    const root = readJsonFile(schemaFile(), { what: 'the experiment schema' }).value as object;
    compiled = { root, validate: new Ajv({ ...AJV_DESCRIBE, strict: false }).compile(root) };
  }
  const problems = compiled.validate(json)
    ? []
    : describeSchemaErrors(compiled.validate.errors, { schema: compiled.root, doc: json, patterns: PATTERN_WORDS });
  problems.push(...parsed.duplicates);
  if (problems.length) throw new SpecError(file, problems.map(problemLine));
  return json as ExperimentSpec;
}

/** Everything resolved: plugins loaded, configs validated, durations in seconds, dataset loaded. */
export interface ResolvedSpec {
  spec: ExperimentSpec;
  file: string;
  plugins: Map<string, LoadedPlugin>;
  times: number[];
  data: Dataset;
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The wasm engine's heap (its 32-bit address space). */

/** Label of adapter entry i. */
export function labelOf(a: ExperimentSpec['adapters'][number]): string {
  return a.label ?? a.plugin.replace(/^.*[\\/]/, '');
}

/** Load a spec file and check everything it names; throws SpecError listing every problem. */
export async function loadSpec(file: string): Promise<ResolvedSpec> {
  if (!existsSync(file)) throw new Error(`${file}: no such experiment spec`);
  const spec = parseSpec(readTextFile(file, 'experiment spec'), file);
  const problems: string[] = [];
  const labels = spec.adapters.map(labelOf);
  labels.forEach((l, i) => {
    if (labels.indexOf(l) !== i) problems.push(`/adapters/${i}/label: '${l}' is used twice (give each entry its own label)`);
  });
  // Labels name folders and result keys: only characters that survive as file names unchanged.
  labels.forEach((l, i) => {
    if (!LABEL.test(l)) {
      problems.push(
        `/adapters/${i}: the label taken from the plugin folder, '${l}', has characters a label cannot ` +
          '(letters, digits, . _ - only); give the entry a "label"',
      );
    }
  });
  (spec.compare ?? []).forEach((pair, i) =>
    pair.forEach((v, k) => {
      if (!labels.includes(v.replace(/\+hwa$/, ''))) {
        problems.push(`/compare/${i}/${k}: '${v}' is not an adapter label (labels: ${labels.join(', ')})`);
      }
    }),
  );
  const times: number[] = [];
  spec.times.forEach((t, i) => {
    try {
      times.push(parseDuration(t, `/times/${i}`));
    } catch (e) {
      problems.push((e as Error).message);
    }
  });
  const plugins = new Map<string, LoadedPlugin>();
  for (const [i, a] of spec.adapters.entries()) {
    try {
      const p = await loadPlugin(a.plugin);
      plugins.set(a.plugin, p);
      const cfg = withPlacement(a.config ?? {}, spec.placement, p);
      validatePluginConfig(p, cfg, `/adapters/${i}/config`);
    } catch (e) {
      problems.push(`/adapters/${i}: ${(e as Error).message.replace(/\n/g, ' ')}`);
    }
    (a.hwa ?? []).forEach((h, j) => {
      if (!h) return;
      try {
        loadProfile(h.device);
        if (h.time !== undefined) parseDuration(h.time, `/adapters/${i}/hwa/${j}/time`);
      } catch (e) {
        problems.push(`/adapters/${i}/hwa/${j}: ${(e as Error).message}`);
      }
    });
  }
  spec.devices.forEach((d, i) => {
    let profile;
    try {
      profile = loadProfile(d.device);
    } catch (e) {
      problems.push(`/devices/${i}/device: ${(e as Error).message.split('\n')[0]}`);
    }
    if (d.temperature === undefined) return;
    try {
      const T = parseTemperature(d.temperature, 'temperature');
      if (profile) atTemperature(d.tile ? withTile(profile, d.tile) : profile, T);
    } catch (e) {
      problems.push(`/devices/${i}/temperature: ${(e as Error).message.replace(/^temperature: /, '').split('\n')[0]}`);
    }
  });
  // Two entries reading the same profile at the same temperature, tile size, noise scale and
  // compensation would write the same result keys.
  const seen = new Set<string>();
  spec.devices.forEach((d, i) => {
    for (const scale of d.noiseScales ?? [1]) {
      const k = JSON.stringify([
        d.device,
        d.temperature ?? null,
        d.tile ? [d.tile.rows, d.tile.cols] : null,
        scale,
        d.compensation ?? null,
      ]);
      if (seen.has(k)) {
        problems.push(
          `/devices/${i}: the same device, temperature, tile, noise scale (${scale}) and compensation as an earlier entry; give each entry its own`,
        );
        break;
      }
      seen.add(k);
    }
  });
  try {
    const loaded = loadModel(spec.model);
    const m = loaded.model;
    const P = m.config.maxPositions;
    // Sequence lengths the run would use, against the model's positions (else it fails after training).
    const seqs: [string, number | undefined][] = [
      ['/training/seq', spec.training?.seq],
      ['/evaluation/seq', spec.evaluation?.seq],
      ...spec.adapters.map((a, i) => [`/adapters/${i}/training/seq`, a.training?.seq] as [string, number | undefined]),
    ];
    for (const [at, v] of seqs) if (v !== undefined && v > P) problems.push(`${at}: ${v} tokens exceed the model's ${P} positions`);
    // Each adapter created once on the model: plugin limits against its sizes (LoRA's rank,
    // GRASP's groups, targets that match nothing) show now, not after the first training.
    let target: DeviceModel | null = null;
    try {
      target = new DeviceModel(loadProfile(spec.devices[0]!.device));
    } catch {
      // reported under /devices
    }
    for (const [i, a] of spec.adapters.entries()) {
      const p = plugins.get(a.plugin);
      if (!p) continue;
      try {
        const horizon = times.length ? Math.max(...times) : 86400;
        const config = withPlacement(a.config ?? {}, spec.placement, p);
        createAdapter(m, p, config, { device: target, horizon, seed: 'validate', source: `/adapters/${i}/config` }).dispose();
      } catch (e) {
        problems.push(`/adapters/${i}: ${(e as Error).message.replace(/\n/g, ' ')}`);
      }
    }
    // Memory a training job needs: weights, gradients and AdamW's two moments (4 floats per
    // parameter), plus activations (~24 floats per token, layer and width), against what the
    // active backend can hold (wasm: a 4 GB heap).
    const c = m.config;
    const batch = Math.max(spec.training?.batch ?? 16, ...spec.adapters.map((a) => a.training?.batch ?? 0));
    const seq = Math.min(P, Math.max(spec.training?.seq ?? 128, ...spec.adapters.map((a) => a.training?.seq ?? 0)));
    const activations = activationFloats(c, batch, seq);
    const bytes = 4 * (4 * m.parameterCount() + activations);
    const limit = engineMemoryLimit();
    if (bytes > limit.bytes) {
      const size = `${(m.parameterCount() / 1e6).toFixed(1)} M-parameter model`;
      problems.push(
        `/training: batch ${batch} × ${seq} tokens on this ${size} needs about ${(bytes / 2 ** 30).toFixed(1)} GB, ` +
          `more than ${limit.what}; lower training.batch or training.seq`,
      );
    }
    m.dispose();
  } catch (e) {
    problems.push(`/model: ${(e as Error).message}`);
  }
  let data: Dataset | null = null;
  try {
    data = loadDataset(spec.task);
    checkTrainable(data);
  } catch (e) {
    problems.push(`/task: ${(e as Error).message}`);
  }
  if (problems.length) throw new SpecError(file, problems);
  return { spec, file, plugins, times: [...new Set(times)].sort((a, b) => a - b), data: data! };
}

/** The adapter config with the spec-wide placement applied where the plugin has a placement option. */
export function withPlacement(
  config: Record<string, unknown>,
  placement: ExperimentSpec['placement'],
  p: LoadedPlugin,
): Record<string, unknown> {
  const props = (p.configSchema.properties ?? {}) as Record<string, unknown>;
  if (!placement || placement === 'default' || !('placement' in props)) return config;
  return { ...config, placement };
}
