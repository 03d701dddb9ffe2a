/** The `aimc` command tree and a runner that turns errors into messages and exit codes. */
import { Command, CommanderError } from 'commander';
import cliProgress from 'cli-progress';
import { setLoadProgress } from '../model/checkpoint.js';
import { progressOptions } from './common.js';
import { registerDeviceCommands } from './device.js';
import { registerTileCommands } from './tile.js';
import { registerModelCommands } from './model.js';
import { registerDataCommands } from './data.js';
import { registerPretrainCommand } from './pretrain.js';
import { registerFinetuneCommand } from './finetune.js';
import { registerAdapterCommands } from './adapter.js';
import { registerDeployCommand } from './deploy.js';
import { registerExperimentCommands, registerReportCommand } from './experiment.js';
import { registerQueueCommands } from './queue.js';

/** A fresh command tree (tests build one per call). */
export function createProgram(): Command {
  const program = new Command();
  program
    .name('aimc')
    .description('Analog in-memory-computing simulator for transformers with hardware-aware PEFT plugins')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerDeviceCommands(program);
  registerTileCommands(program);
  registerModelCommands(program);
  registerDataCommands(program);
  registerPretrainCommand(program);
  registerAdapterCommands(program);
  registerFinetuneCommand(program);
  registerDeployCommand(program);
  registerExperimentCommands(program);
  registerReportCommand(program);
  registerQueueCommands(program);
  return program;
}

/** Run the CLI on argv (node-style: [node, script, ...args]); returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  process.exitCode = 0;
  const stopLoadBar = showLoadProgress();
  try {
    await createProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    console.error(describeFailure(e));
    if (process.env.AIMC_DEBUG && e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  } finally {
    stopLoadBar();
  }
}

/** Loading a model of more than LOAD_BAR_BYTES shows a bar on stderr (seconds at 355 M parameters). */
const LOAD_BAR_BYTES = 256 * 2 ** 20;

function showLoadProgress(): () => void {
  let bar: cliProgress.SingleBar | null = null;
  setLoadProgress((file, done, total, bytes) => {
    if (bytes < LOAD_BAR_BYTES) return;
    if (!bar) {
      bar = new cliProgress.SingleBar(
        progressOptions(`loading {bar} {value}/{total} tensors of ${file} (${(bytes / 2 ** 30).toFixed(1)} GB as float32)`),
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, done);
    } else bar.update(done);
    if (done === total) {
      bar.stop();
      bar = null;
    }
  });
  return () => {
    setLoadProgress(null);
    (bar as cliProgress.SingleBar | null)?.stop();
  };
}

/** Error names that mean aimc met a case it did not foresee (JavaScript's own errors, wasm's). */
const INTERNAL_ERRORS = ['TypeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'RangeError', 'RuntimeError', 'CompileError'];

/**
 * One line for a failure. aimc's own refusals are plain Errors (or its error classes) whose
 * message names the file, option or path; JavaScript's TypeError, RangeError, ReferenceError
 * and anything that is not an Error mean aimc met a case it did not foresee — say so, and
 * how to report it, instead of showing an internal message as if it were about the input.
 */
export function describeFailure(e: unknown): string {
  const internal = !(e instanceof Error) || INTERNAL_ERRORS.includes(e.name);
  const msg = e instanceof Error ? e.message.split('\n').join('\n  ') : String(e);
  if (!internal) return `aimc: ${msg}`;
  return (
    'aimc: internal error — a case aimc did not foresee, not a problem aimc found in your input ' +
    `(${(e as Error)?.name ?? 'error'}: ${msg.split('\n')[0]}). ` +
    'Please report it with the command you ran and its input files; AIMC_DEBUG=1 prints the stack.'
  );
}
