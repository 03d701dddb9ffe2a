/** `aimc tile error`: the noise budget of device profiles (src/crossbar/noise-budget.ts). */
import type { Command } from 'commander';
import { atTemperature, listProfiles, loadProfile, parseTemperature, withTile } from '../device/profile.js';
import { BUDGET_SOURCES, noiseBudget, presentSources, type BudgetLine } from '../crossbar/noise-budget.js';
import { formatDuration, parseDurations, parseNumber, parsePositiveInt, parseTileSize } from '../input/values.js';
import { compareIrDrop } from '../crossbar/ir-drop.js';
import { RandomStream } from '../tensor/random.js';
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
  tile?: string;
  seed: string;
  json?: boolean;
  backend?: string;
}

interface IrDropOptions {
  rows: string;
  cols: string;
  rRow: string;
  rCol: string;
  gMax: string;
  v: string;
  seed: string;
  json?: boolean;
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
    .option('--tile <list>', "tile sizes to compare, comma-separated ROWSxCOLS or N (default: the profile's own)")
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
      const tiles = o.tile === undefined ? [null] : o.tile.split(',').map((x) => parseTileSize(x, '--tile'));
      const profiles = loaded.flatMap((p) =>
        tiles.map((tile) => {
          const sized = tile ? withTile(p, tile) : p;
          return T === undefined ? sized : atTemperature(sized, T);
        }),
      );
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

  tile
    .command('ir-drop')
    .description(
      'IR drop of one array: the exact solve of its resistive network against the fast models (1–3 line-relaxation sweeps, first order)',
    )
    .option('--rows <n>', 'word lines (inputs)', '256')
    .option('--cols <n>', 'bit lines (outputs)', '256')
    .option('--r-row <ohm>', 'word-line segment resistance between neighbouring cells, Ω', '1')
    .option('--r-col <ohm>', 'bit-line segment resistance between neighbouring cells, Ω', '1')
    .option('--g-max <uS>', 'largest device conductance, µS (conductances are gMax·u², u uniform)', '25')
    .option('--v <volts>', 'inputs uniform in ±v, V', '0.2')
    .option(...SEED_OPTION)
    .option(...JSON_OPTION)
    .action((o: IrDropOptions) => {
      const rows = parsePositiveInt(o.rows, '--rows', 2048);
      const cols = parsePositiveInt(o.cols, '--cols', 2048);
      const rRow = parseNumber(o.rRow, '--r-row', { min: 0, max: 1e6 });
      const rCol = parseNumber(o.rCol, '--r-col', { min: 0, max: 1e6 });
      const gMax = parseNumber(o.gMax, '--g-max', { min: 0, exclusiveMin: true, max: 1e6 });
      const v = parseNumber(o.v, '--v', { min: 0, exclusiveMin: true, max: 100 });
      const rng = new RandomStream(`${o.seed}/ir-drop`);
      const c = compareIrDrop(rows, cols, { rRow, rCol }, gMax, v, (n) => rng.uniform(n));
      if (o.json) {
        console.log(JSON.stringify(c, null, 2));
        return;
      }
      console.log(`${rows} × ${cols} array, segments ${rRow} Ω (rows) / ${rCol} Ω (columns), conductances ${gMax}·u² µS, inputs ±${v} V`);
      console.log(
        `IR drop: the ideal sum is off the exact currents by ${(100 * c.drop).toFixed(2)} % (exact solve ${c.exactMs.toFixed(0)} ms)`,
      );
      const t = table(['model', 'relative error vs exact']);
      for (const s of c.sweeps) t.push([`${s.sweeps} sweep${s.sweeps > 1 ? 's' : ''}`, `${(100 * s.relativeError).toFixed(4)} %`]);
      t.push(['first order', `${(100 * c.firstOrder).toFixed(4)} %`]);
      console.log(t.toString());
    });
}
