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
export { relativeWeightNoise } from './crossbar/mapping.js';

// Tiles: a weight matrix on crossbars (map → program → read at t → MVM), and the noise budget.
export { TiledMatrix, ProgrammedMatrix, AnalogMatrix } from './crossbar/analog-matrix.js';
export { noiseBudget, mvmError, type BudgetLine, type BudgetOptions } from './crossbar/noise-budget.js';
export { solveCrossbar, compareIrDrop, type Wires } from './crossbar/ir-drop.js';

// Your own TensorFlow.js model on tiles.
export { convertToAnalog, AnalogModel, type ConvertOptions, type ConvertedLayer, type AnalogMode } from './convert/convert.js';

// Models, tokenizers, datasets.
export { loadModel, loadModelForTask, shippedModels, describeModel, type LoadedModel } from './model/load.js';
export { Transformer } from './model/transformer.js';
export { saveCheckpoint, loadCheckpoint } from './model/checkpoint.js';
export { loadDataset, type Dataset, type Example } from './data/datasets.js';

// Adapters (PEFT plugins).
export { loadPlugin, listPlugins, builtinPluginNames } from './peft/registry.js';
export { createAdapter, AttachedAdapter, type ParamCounts } from './peft/host.js';
export { saveAdapter, loadAdapter, readAdapterFile } from './peft/state.js';
export type { AdapterPlugin, LoadedPlugin } from './peft/types.js';

// Fine-tuning, deployment, experiments, reports.
export { runFinetune, type FinetuneJob, type FinetuneSummary } from './train/finetune.js';
export { Deployment, type DeploySpec, type TrialResult, type TrialProgress } from './deploy/deployment.js';
export { runTrials } from './deploy/trials.js';
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
