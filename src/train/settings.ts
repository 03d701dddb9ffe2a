/**
 * Fine-tuning settings: the one definition of their defaults, and how a run's settings are
 * resolved from what the user gave (CLI options, an experiment spec, an adapter entry), the
 * plugin's recommendations (`AdapterPlugin.training`) and aimc's defaults — with the source
 * of every value, so commands can say which values they used and where each came from.
 */
import type { PluginTrainingDefaults } from '../peft/types.js';

/** The settings of one fine-tuning run, as CLI options and spec fields name them. */
export interface TrainingSettings {
  /** Optimizer steps. */
  steps: number;
  /** Examples per step. */
  batch: number;
  /** Max tokens per example. */
  seq: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps (then linear decay to 0). */
  warmup: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Gradient global-norm clip (0: none). */
  clip: number;
  /** Steps between dev evaluations. */
  evalEvery: number;
  /** Dev examples per evaluation (a fixed subset; absent: all). */
  evalLimit?: number;
  /** Stop after this many evaluations without improvement (absent: never). */
  patience?: number;
}

export type TrainingKey = keyof TrainingSettings;

/**
 * aimc's defaults for what neither the user nor the plugin sets. The learning rate here is
 * full fine-tuning's; PEFT plugins declare their own (10–100× higher), and warmup is 10 % of
 * the steps unless someone sets it.
 */
export const TRAINING_DEFAULTS: Readonly<Omit<TrainingSettings, 'evalLimit' | 'patience' | 'warmup'>> = {
  steps: 600,
  batch: 16,
  seq: 128,
  lr: 1e-4,
  weightDecay: 0.01,
  clip: 1,
  evalEvery: 100,
};

/** Warmup when nobody sets it: this fraction of the steps. */
export const WARMUP_FRACTION = 0.1;

export const TRAINING_KEYS: readonly TrainingKey[] = [
  'steps',
  'batch',
  'seq',
  'lr',
  'warmup',
  'weightDecay',
  'clip',
  'evalEvery',
  'evalLimit',
  'patience',
];

/** One layer of given settings and its name in messages (`--lr`, `spec training`, `adapter 'x' training`). */
export interface SettingsLayer {
  source: string;
  values: Partial<TrainingSettings>;
}

export interface ResolvedTraining {
  settings: TrainingSettings;
  /** Where each value came from. */
  sources: Partial<Record<TrainingKey, string>>;
}

/**
 * Resolve settings: the first layer (highest precedence first) that gives a value wins, then
 * the plugin's recommendation, then aimc's default. Warmup is capped at the steps.
 */
export function resolveTraining(layers: SettingsLayer[], plugin?: { name: string; training?: PluginTrainingDefaults }): ResolvedTraining {
  const settings: Partial<TrainingSettings> = {};
  const sources: Partial<Record<TrainingKey, string>> = {};
  const set = (k: TrainingKey, v: number, source: string) => {
    (settings as Record<string, number>)[k] = v;
    sources[k] = source;
  };
  for (const k of TRAINING_KEYS) {
    const layer = layers.find((l) => l.values[k] !== undefined);
    if (layer) {
      set(k, layer.values[k]!, layer.source);
      continue;
    }
    const rec = plugin?.training?.[k as keyof PluginTrainingDefaults];
    if (rec !== undefined) {
      set(k, rec, `plugin ${plugin!.name}`);
      continue;
    }
    if (k in TRAINING_DEFAULTS) set(k, TRAINING_DEFAULTS[k as keyof typeof TRAINING_DEFAULTS], 'aimc default');
  }
  if (settings.warmup === undefined) {
    set('warmup', Math.round(WARMUP_FRACTION * settings.steps!), `aimc default (${WARMUP_FRACTION * 100} % of steps)`);
  }
  if (settings.warmup! > settings.steps!) settings.warmup = settings.steps!;
  return { settings: settings as TrainingSettings, sources };
}

/** One line per run: `lr 0.01 (plugin grasp), steps 600 (aimc default), …`. */
export function describeTraining(r: ResolvedTraining): string {
  return TRAINING_KEYS.filter((k) => r.settings[k] !== undefined)
    .map((k) => `${k} ${r.settings[k]} (${r.sources[k]})`)
    .join(', ');
}
