/** Charts of a device profile, rendered to SVG with vega-lite. */
import * as tf from '@tensorflow/tfjs';
import type { TopLevelSpec } from 'vega-lite';
import type { DeviceModel } from '../device/model.js';
import { conductanceStats } from '../crossbar/device-stats.js';
import { programWeights, uniformWeights, weightsAt } from '../crossbar/mapping.js';
import { RandomStream } from '../tensor/random.js';
import { renderSvg, VEGA_LITE_SCHEMA } from './vega.js';
import { formatDuration } from '../input/values.js';

export interface DeviceChartOptions {
  /** Targets (fractions of gMax) for the conductance-vs-time chart. */
  gRels: number[];
  /** Times (s) for the weight-error histograms. */
  histTimes: number[];
  /** Monte Carlo samples per point / histogram. */
  samples: number;
}

/** Log-spaced times from 1 s to 10 years. */
function logTimes(perDecade = 4): number[] {
  const out: number[] = [];
  for (let e = 0; e <= 8.5 * perDecade; e++) out.push(Math.round(10 ** (e / perDecade)));
  return [...new Set(out)];
}

/** { file name: SVG } for the three device charts. */
export async function deviceCharts(dev: DeviceModel, o: DeviceChartOptions): Promise<Record<string, string>> {
  /** A 420 × 260 chart of `values` titled `device: title`; `rest` is its mark, encoding or layers. */
  const chart = (title: string, values: object[], rest: object): TopLevelSpec =>
    ({ $schema: VEGA_LITE_SCHEMA, title: `${dev.name}: ${title}`, width: 420, height: 260, data: { values }, ...rest }) as TopLevelSpec;
  const progRows = Array.from({ length: 101 }, (_, i) => {
    const gRel = i / 100;
    return { gRel, std: dev.programNoiseStdAt(gRel * dev.gMax) };
  });
  const progSpec = chart('programming-noise std', progRows, {
    mark: 'line',
    encoding: {
      x: { field: 'gRel', type: 'quantitative', title: 'target g / gMax' },
      y: { field: 'std', type: 'quantitative', title: 'programming-noise std (µS)' },
    },
  });

  const times = logTimes();
  const stats = conductanceStats(dev, o.gRels, times, o.samples, 'device-plot').map((r) => ({
    ...r,
    lo: r.gMean - r.gStd,
    hi: r.gMean + r.gStd,
    target: `g/gMax = ${r.gRel}`,
  }));
  const timeSpec = chart('conductance vs time (mean ± 1 std)', stats, {
    encoding: {
      x: { field: 't', type: 'quantitative', scale: { type: 'log' }, title: 'time after programming (s)' },
      color: { field: 'target', type: 'nominal', title: null },
    },
    layer: [
      {
        mark: { type: 'errorband', opacity: 0.3 },
        encoding: { y: { field: 'lo', type: 'quantitative', title: 'conductance (µS)' }, y2: { field: 'hi' } },
      },
      { mark: 'line', encoding: { y: { field: 'gMean', type: 'quantitative' } } },
    ],
  });

  // Weight errors of a layer of uniform weights, before compensation, at chosen times.
  const rng = new RandomStream(`device-plot/${dev.name}/hist`);
  const n = o.samples;
  const wT = uniformWeights(rng.child('w'), n);
  const pw = programWeights(dev, wT, rng.child('program'));
  const histRows: { t: string; error: number }[] = [];
  for (const t of o.histTimes) {
    const err = tf.tidy(() => tf.sub(weightsAt(dev, pw, t, rng.child('read', t)), wT));
    const data = await err.data();
    err.dispose();
    for (const e of data) histRows.push({ t: formatDuration(t), error: e });
  }
  pw.dispose();
  wT.dispose();
  const histSpec = chart('weight error (w_read − w) / max|W|, no compensation', histRows, {
    mark: { type: 'bar', opacity: 0.5 },
    encoding: {
      x: { field: 'error', type: 'quantitative', bin: { maxbins: 80 }, title: 'weight error (fraction of max|W|)' },
      y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'weights' },
      color: { field: 't', type: 'nominal', title: 'time', sort: null },
    },
  });

  return {
    'programming-noise.svg': await renderSvg(progSpec),
    'conductance-vs-time.svg': await renderSvg(timeSpec),
    'weight-error-histograms.svg': await renderSvg(histSpec),
  };
}
