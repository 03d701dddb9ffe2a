/** Entry point of the `aimc` command line. */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv);
