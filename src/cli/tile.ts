/** `aimc tile error`: the noise budget of device profiles (src/crossbar/noise-budget.ts). */
import type { Command } from 'commander';
import { atTemperature, listProfiles, loadProfile, parseTemperature } from '../device/profile.js';
import { BUDGET_SOURCES, noiseBudget, presentSources, type BudgetLine } from '../crossbar/noise-budget.js';
import { formatDuration, parseDurations, parsePositiveInt } from '../input/values.js';
import { BACKEND_OPTION, JSON_OPTION, SEED_OPTION, startBackend, table } from './common.js';

/** Largest weight matrix side the command accepts (a 4096 × 4096 matrix is 64 MB per copy). */
const MAX_SIDE = 4096;

interface TileErrorOptions {
  rows?: string;
  cols?: string;
  t: string;
  samples: string;
  trials: string;
  temperature?: string;
  seed: string;
  json?: boolean;
  backend?: string;
}

/** Register the tile commands on the root program. */
export function registerTileCommands(program: Command): void {
  const tile = program.command('tile').description('one crossbar tile of a device: how far its MVM is from x·W, and why');

  tile
    .command('error')
    .description(
      'noise budget: relative MVM error ‖y − x·W‖/‖x·W‖ on random Gaussian weights and inputs, with each non-ideality of the profile alone and all together',
    )
    .argument('[devices...]', 'built-in profile names or profile JSON files (default: every built-in profile)')
    .option('--rows <n>', "weight rows (inputs) (default: the profile's tile rows)")
    .option('--cols <n>', "weight columns (outputs) (default: the profile's tile columns)")
    .option('--t <list>', 'read times after programming (s, or with unit: 1h, 1d, 1y)', '1d')
    .option('--temperature <T>', 'read temperature with its unit, e.g. 85C or 358K (profiles need a temperature section)')
    .option('--samples <n>', 'input vectors per trial', '256')
    .option('--trials <n>', 'independent trials (fresh weights, inputs and chip each)', '4')
    .option(...SEED_OPTION)
    .option(...JSON_OPTION)
    .option(...BACKEND_OPTION)
    .action(async (names: string[], o: TileErrorOptions) => {
      const times = parseDurations(o.t, '--t');
      const samples = parsePositiveInt(o.samples, '--samples', 1 << 16);
      const trials = parsePositiveInt(o.trials, '--trials', 1000);
      const rows = o.rows === undefined ? undefined : parsePositiveInt(o.rows, '--rows', MAX_SIDE);
      const cols = o.cols === undefined ? undefined : parsePositiveInt(o.cols, '--cols', MAX_SIDE);
      // Every profile is loaded (and validated) before any work starts.
      const T = o.temperature === undefined ? undefined : parseTemperature(o.temperature, '--temperature');
      const all = names.length ? names : listProfiles().map((p) => p.name);
      // Without names, --temperature keeps to the built-ins that say how temperature acts.
      const loaded = all.map((n) => loadProfile(n)).filter((p) => names.length || T === undefined || p.temperature);
      if (!loaded.length) throw new Error('--temperature: no built-in profile has a temperature section; name a profile that has one');
      const profiles = loaded.map((p) => (T === undefined ? p : atTemperature(p, T)));
      await startBackend(o.backend, !o.json);
      const out: (BudgetLine & { device: string; t: number })[] = [];
      for (const profile of profiles) {
        const byTime = times.map((t) => ({
          t,
          lines: noiseBudget(profile, { t, samples, trials, seed: o.seed, ...(rows ? { rows } : {}), ...(cols ? { cols } : {}) }),
        }));
        for (const { t, lines } of byTime) for (const l of lines) out.push({ device: profile.name, t, ...l });
        if (o.json) continue;
        const r = rows ?? profile.tile.rows;
        const c = cols ?? profile.tile.cols;
        console.log(
          `${profile.name}: ${r} × ${c} weights ~ N(0, 1), ${samples} inputs ~ N(0, 1) per trial, ${trials} trials (mean ± standard error)`,
        );
        const tab = table(['source', ...times.map((t) => `t = ${formatDuration(t)}`)]);
        for (const [i, line] of byTime[0]!.lines.entries()) {
          tab.push([
            line.source,
            ...byTime.map(({ lines }) => `${lines[i]!.relativeError.toFixed(4)} ± ${lines[i]!.standardError.toFixed(4)}`),
          ]);
        }
        console.log(tab.toString());
        const present = new Set(presentSources(profile).map((s) => s.name));
        const off = BUDGET_SOURCES.filter((s) => !present.has(s.name)).map((s) => s.name);
        if (off.length) console.log(`off in this profile: ${off.join(', ')}`);
        console.log('');
      }
      if (o.json) console.log(JSON.stringify(out, null, 2));
    });
}
