/** The `aimc` command tree and a runner that turns errors into messages and exit codes. */
import { Command, CommanderError } from 'commander';
import { registerDeviceCommands } from './device.js';
import { registerModelCommands } from './model.js';
import { registerDataCommands } from './data.js';
import { registerPretrainCommand } from './pretrain.js';
import { registerFinetuneCommand } from './finetune.js';
import { registerAdapterCommands } from './adapter.js';
import { registerDeployCommand } from './deploy.js';
import { registerExperimentCommands, registerReportCommand } from './experiment.js';

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
  registerModelCommands(program);
  registerDataCommands(program);
  registerPretrainCommand(program);
  registerAdapterCommands(program);
  registerFinetuneCommand(program);
  registerDeployCommand(program);
  registerExperimentCommands(program);
  registerReportCommand(program);
  return program;
}

/** Run the CLI on argv (node-style: [node, script, ...args]); returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await createProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    console.error(describeFailure(e));
    if (process.env.AIMC_DEBUG && e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  }
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
