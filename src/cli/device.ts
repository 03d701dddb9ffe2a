/** `aimc device list | validate | show | plot`. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  atTemperature,
  compileSchemaText,
  isJsonSchema,
  listProfiles,
  loadProfile,
  parseProfileText,
  parseTemperature,
  ProfileError,
} from '../device/profile.js';
import { DeviceModel } from '../device/model.js';
import { conductanceStats } from '../crossbar/device-stats.js';
import { weightPopulation } from '../crossbar/mapping.js';
import { formatDuration, MAX_SAMPLES, parseDurations, parseNumberList, parsePositiveInt } from '../input/values.js';
import { BACKEND_OPTION, JSON_OPTION, startBackend, table } from './common.js';
import { deviceCharts } from '../report/device-charts.js';

const DEFAULT_G = '0.1,0.5,0.9';
const DEFAULT_T = '1,3600,86400,2592000,31536000,315360000';

/** Register the device commands on the root program. */
export function registerDeviceCommands(program: Command): void {
  const device = program.command('device').description('device profiles: list, validate, inspect and plot');

  device
    .command('list')
    .description('list the built-in device profiles')
    .option(...JSON_OPTION)
    .action((opts: { json?: boolean }) => {
      const profiles = listProfiles();
      if (opts.json) {
        console.log(JSON.stringify(profiles, null, 2));
        return;
      }
      const t = table(['name', 'description'], { colWidths: [22, 90], wordWrap: true });
      for (const p of profiles) t.push([p.name, p.description]);
      console.log(t.toString());
    });

  device
    .command('validate')
    .description('check device profile files; exit 1 listing every problem if any is invalid')
    .argument('<files...>', 'profile JSON files')
    .action((files: string[]) => {
      let bad = 0;
      for (const file of files) {
        try {
          const text = readFileSync(file, 'utf8');
          // `devices/*.json` includes the schema itself: check that it compiles instead.
          if (isJsonSchema(text)) {
            compileSchemaText(text, file);
            console.log(`ok    ${file} (JSON Schema)`);
            continue;
          }
          parseProfileText(text, file);
          console.log(`ok    ${file}`);
        } catch (e: unknown) {
          bad++;
          console.error(e instanceof ProfileError ? e.message : `${file}: ${(e as Error).message}`);
        }
      }
      if (bad > 0) {
        console.error(`${bad} of ${files.length} profile(s) invalid`);
        process.exitCode = 1;
      }
    });

  device
    .command('show')
    .description('statistics of one device programmed to g·gMax, read at each time')
    .argument('<device>', 'built-in profile name or path to a profile JSON')
    .option('--g <list>', 'targets as fractions of gMax', DEFAULT_G)
    .option('--t <list>', 'times after programming (s, or with unit: 1h, 1d, 1y)', DEFAULT_T)
    .option('--samples <n>', 'Monte Carlo samples per (g, t)', '100000')
    .option('--seed <s>', 'random seed', 'aimc')
    .option('--temperature <T>', 'read temperature with its unit, e.g. 85C or 358K (the profile needs a temperature section)')
    .option('--json', 'print a JSON array instead of tables')
    .option(...BACKEND_OPTION)
    .action(
      async (
        name: string,
        opts: { g: string; t: string; samples: string; seed: string; temperature?: string; json?: boolean; backend?: string },
      ) => {
        const gRels = parseNumberList(opts.g, '--g', 0, 1);
        const times = parseDurations(opts.t, '--t');
        const samples = parsePositiveInt(opts.samples, '--samples', MAX_SAMPLES);
        const loaded = loadProfile(name);
        const profile = opts.temperature ? atTemperature(loaded, parseTemperature(opts.temperature, '--temperature')) : loaded;
        await startBackend(opts.backend, !opts.json);
        const dev = new DeviceModel(profile);
        const rows = conductanceStats(dev, gRels, times, samples, opts.seed);
        if (opts.json) {
          const pops = new Map(times.map((t) => [t, weightPopulation(dev, t)]));
          console.log(
            JSON.stringify(
              rows.map((r) => ({
                ...r,
                relativeWeightNoise: pops.get(r.t)!.rms,
                relativeWeightNoiseCompensated: pops.get(r.t)!.rmsCompensated,
              })),
              null,
              2,
            ),
          );
          return;
        }
        console.log(
          `${profile.name}: gMin ${profile.conductance.gMin} µS, gMax ${profile.conductance.gMax} µS, ${samples} samples per row`,
        );
        const t1 = table(['g/gMax', 't', 'target µS', 'prog std µS', 'mean µS', 'std µS', 'w err', 'w err (GDC)']);
        for (const r of rows) {
          const g = [r.gTarget.toFixed(3), r.progStd.toFixed(4), r.gMean.toFixed(4), r.gStd.toFixed(4)];
          t1.push([r.gRel, formatDuration(r.t), ...g, r.weightError.toFixed(4), r.weightErrorCompensated.toFixed(4)]);
        }
        console.log(t1.toString());
        console.log('Relative weight noise of a layer (weights uniform in [-1, 1], rms error / max|W|):');
        const t2 = table(['t', 'no compensation', 'with GDC', 'GDC factor']);
        for (const t of times) {
          const p = weightPopulation(dev, t);
          t2.push([formatDuration(t), p.rms.toFixed(4), p.rmsCompensated.toFixed(4), p.gdc.toFixed(4)]);
        }
        console.log(t2.toString());
      },
    );

  device
    .command('plot')
    .description('write SVG charts of a profile: programming noise, conductance vs time, weight-error histograms')
    .argument('<device>', 'built-in profile name or path to a profile JSON')
    .requiredOption('--out <dir>', 'output folder')
    .option('--g <list>', 'targets (fractions of gMax) for the time plot', DEFAULT_G)
    .option('--t <list>', 'times for the weight-error histograms', '1,86400,31536000')
    .option('--samples <n>', 'Monte Carlo samples', '20000')
    .option(...BACKEND_OPTION)
    .action(async (name: string, opts: { out: string; g: string; t: string; samples: string; backend?: string }) => {
      const gRels = parseNumberList(opts.g, '--g', 0, 1);
      const times = parseDurations(opts.t, '--t');
      const samples = parsePositiveInt(opts.samples, '--samples', MAX_SAMPLES);
      const profile = loadProfile(name);
      await startBackend(opts.backend, true);
      const dev = new DeviceModel(profile);
      mkdirSync(opts.out, { recursive: true });
      const charts = await deviceCharts(dev, { gRels, histTimes: times, samples });
      for (const [file, svg] of Object.entries(charts)) {
        const path = join(opts.out, file);
        writeFileSync(path, svg);
        console.log(`wrote ${path}`);
      }
    });
}
