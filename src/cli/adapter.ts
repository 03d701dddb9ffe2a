/** `aimc adapter list | params`: the PEFT plugins and their parameter budgets. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseStrictJson, readJsonFile } from '../input/json.js';
import { loadModelForTask } from '../model/load.js';
import { createAdapter } from '../peft/host.js';
import { listPlugins, loadPlugin } from '../peft/registry.js';
import { BACKEND_OPTION, JSON_OPTION, MODEL_OPTION, startBackend, table } from './common.js';

/** `--config`: inline JSON (starts with `{`) or a JSON file; returns the object and where it came from. */
export function parseConfigArg(text: string | undefined): { config: unknown; source: string } {
  if (text === undefined) return { config: {}, source: '--config' };
  const inline = text.trim().startsWith('{');
  const source = inline ? '--config' : text;
  if (!inline && !existsSync(text)) throw new Error(`--config: '${text}' is neither inline JSON nor an existing file`);
  return { config: (inline ? parseStrictJson(text, source) : readJsonFile(text, { what: 'adapter config' })).value, source };
}

/** Register `aimc adapter`. */
export function registerAdapterCommands(program: Command): void {
  const adapter = program.command('adapter').description('PEFT adapter plugins');

  adapter
    .command('list')
    .description('the built-in adapter plugins')
    .option(...JSON_OPTION)
    .action(async (o: { json?: boolean }) => {
      const list = await listPlugins();
      if (o.json) return console.log(JSON.stringify(list, null, 2));
      const t = table(['name', 'description', 'trainable parameters']);
      for (const p of list) t.push([p.name, p.description, p.formula]);
      console.log(t.toString());
      console.log('A plugin folder elsewhere is used by path: --adapter ./my-plugin (see README, "Writing a plugin").');
    });

  adapter
    .command('params')
    .description('trainable parameters of an adapter on a model, without and with the task head')
    .argument('<name>', 'plugin name or plugin folder')
    .requiredOption(...MODEL_OPTION)
    .option('--config <json|file>', 'plugin config (inline JSON or a file)')
    .option('--labels <n>', 'task-head outputs (encoders; default 2)', '2')
    .option('--json', 'print {"trainable": n, "head": h, "base": b}')
    .option(...BACKEND_OPTION)
    .action(async (name: string, o: { model: string; config?: string; labels: string; json?: boolean; backend?: string }) => {
      const plugin = await loadPlugin(name);
      const { config, source } = parseConfigArg(o.config);
      await startBackend(o.backend, false);
      const labels = Number(o.labels);
      if (!Number.isInteger(labels) || labels < 1) throw new Error(`--labels: expected a positive integer, got '${o.labels}'`);
      const m = loadModelForTask(o.model, labels).model;
      const a = createAdapter(m, plugin, config, { source });
      const c = a.counts();
      a.dispose();
      m.dispose();
      if (o.json) return console.log(JSON.stringify(c));
      const pct = (n: number) => `${((100 * n) / c.base).toFixed(3)}%`;
      const t = table(['', 'parameters', '% of base']);
      t.push(
        ['adapter', c.trainable, pct(c.trainable)],
        ['task head', c.head, pct(c.head)],
        ['adapter + head', c.trainable + c.head, pct(c.trainable + c.head)],
        ['base model', c.base, '100%'],
      );
      console.log(`${plugin.plugin.name} on ${o.model}:`);
      console.log(t.toString());
    });
}
