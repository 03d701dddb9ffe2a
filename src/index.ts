/**
 * aimc as a library: the one entry module (`import { … } from 'aimc'`). Everything the CLI
 * does is reachable from here; progress comes through callbacks (`onProgress`, `progress`),
 * never straight to the terminal. Units as everywhere in aimc: conductance µS, time s.
 *
 * Stability: names exported here follow semver (a breaking change is a major version);
 * anything imported from deeper paths is internal.
 */

// Engines: pick and start the tfjs backend (call once before tensor work).
export { initBackend, activeBackend, backendBanner, BACKENDS, type BackendName } from './tensor/backend.js';
export { RandomStream } from './tensor/random.js';

// Device profiles and their physics.
export {
  loadProfile,
  validateProfile,
  parseProfileText,
  listProfiles,
  withNoiseScale,
  withTile,
  atTemperature,
  parseTemperature,
  deploymentProfile,
  ProfileError,
} from './device/profile.js';
export type { DeviceProfile } from './device/types.js';
export { DeviceModel } from './device/model.js';
export { conductanceStats, type ConductanceStat } from './crossbar/device-stats.js';
export { relativeWeightNoise, weightPopulation } from './crossbar/mapping.js';
export { deviceCharts } from './report/device-charts.js';

// Tiles: a weight matrix on crossbars (map → program → read at t → MVM), and the noise budget.
export { TiledMatrix, ProgrammedMatrix, AnalogMatrix } from './crossbar/analog-matrix.js';
export { noiseBudget, mvmError, type BudgetLine, type BudgetOptions } from './crossbar/noise-budget.js';
export { solveCrossbar, compareIrDrop, type Wires } from './crossbar/ir-drop.js';
export { tileGrid } from './crossbar/tiling.js';
export { mvmCost } from './crossbar/cost.js';

// Your own TensorFlow.js model on tiles.
export { convertToAnalog, AnalogModel, type ConvertOptions, type ConvertedLayer, type AnalogMode } from './convert/convert.js';

// Models, tokenizers, datasets.
export { loadModel, loadModelForTask, shippedModels, describeModel, type LoadedModel } from './model/load.js';
export { Transformer } from './model/transformer.js';
export { defaultConfig, validateConfig, type ModelConfig } from './model/config.js';
export { MODEL_PRESETS, presetConfig } from './model/presets.js';
export { defaultAnalogSites } from './model/sites.js';
export { saveCheckpoint, loadCheckpoint } from './model/checkpoint.js';
export { saveHuggingFace } from './model/hf.js';
export { loadTokenizer, type TextTokenizer } from './model/tokenizer.js';
export { trainByteLevelBpe } from './model/bpe-train.js';
export { loadDataset, checkTrainable, type Dataset, type Example } from './data/datasets.js';
export { TEXT_SOURCES } from './data/corpora.js';
export { datasetInfo, DATASET_LIST } from './data/info.js';
export { evaluateLanguageModel, evaluateLm, evalSequences, type LmEvalResult, type LmDatasetEvalOptions } from './task/lm-eval.js';

// Pretraining a base model.
export { pretrainModel, PRETRAIN_DEFAULTS, type PretrainModelOptions, type PretrainModelResult } from './train/pretrain-model.js';
export { pretrain, type PretrainOptions, type EvalResult } from './train/pretrain.js';

// Adapters (PEFT plugins).
export { loadPlugin, listPlugins, builtinPluginNames } from './peft/registry.js';
export { createAdapter, AttachedAdapter, validatePluginConfig, type ParamCounts } from './peft/host.js';
export { saveAdapter, loadAdapter, readAdapterFile } from './peft/state.js';
export type { AdapterPlugin, LoadedPlugin } from './peft/types.js';

// Fine-tuning, deployment, experiments, reports.
export { runFinetune, type FinetuneJob, type FinetuneSummary } from './train/finetune.js';
export { trainAdapter, type TrainOptions, type TrainResult } from './train/trainer.js';
export { resolveTraining, describeTraining, TRAINING_DEFAULTS, type TrainingSettings } from './train/settings.js';
export { Deployment, type DeploySpec, type TrialResult, type TrialProgress } from './deploy/deployment.js';
export { runTrials } from './deploy/trials.js';
export { inferenceCost, mapModel, type ModelMap, type SiteMap } from './deploy/cost.js';
export { summarizeByTime, type TimeSummary } from './deploy/summary.js';
export { loadSpec, parseSpec, SpecError, type ExperimentSpec, type ResolvedSpec } from './experiment/spec.js';
export { runExperiment, JobsFailedError, type RunOptions, type RunProgress, type RunExecutor } from './experiment/runner.js';
export { readResults } from './experiment/store.js';
export { buildReport } from './report/report.js';

// Experiments on many machines (Redis + BullMQ).
export { queueExecutor, type CoordinatorOptions } from './queue/coordinator.js';
export { startWorker, type WorkerOptions, type RunningWorker } from './queue/worker.js';
export { queueStatus, type QueueStatus } from './queue/status.js';
export { parseQueueUrl } from './queue/url.js';

// Durations as the CLI and specs write them ('1s', '1d', '1y', '10y' ↔ seconds).
export { parseDuration, parseDurations, formatDuration } from './input/values.js';
