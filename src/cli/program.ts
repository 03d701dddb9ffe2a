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
    console.error(`aimc: ${(e as Error).message}`);
    return 1;
  }
}
