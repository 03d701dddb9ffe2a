/**
 * Calibrated ADC ranges (CrossSim's calibrated ADC limits): at programming, calibration inputs
 * run through the freshly programmed arrays, each ADC records the |analog output| it sees, and
 * its range becomes a quantile of those, capped at the converter's bound. The ADC keeps its
 * levels, so a narrower range is a finer step; outputs beyond the range saturate (and the
 * bound management sees them saturate). The kernel applies a range r as the gain
 * g = bound / r before the converter and 1/g after it.
 *
 * Quantiles come from a log-spaced histogram per ADC group (an array, or a column), so memory
 * stays fixed however many calibration inputs are seen; the estimate is the upper edge of the
 * bin holding the quantile (at most 2.3 % above it: 1024 bins over 10 decades), and the exact
 * maximum when the quantile is 1.
 */
import type { AdcCalibration } from '../device/types.js';
import type { TileLayout } from '../tensor/kernels/index.js';

const BINS = 1024;
/** The histogram spans [bound·10^−DECADES, bound]; smaller outputs fall in the first bin. */
const DECADES = 10;

export class AdcRangeCalibration {
  private readonly counts: Uint32Array[];
  private readonly max: Float64Array[];
  private readonly groups: number;
  private seen = 0;

  constructor(
    private readonly layout: TileLayout,
    /** The ADC's full bound, in units of a full-scale unit-weight output. */
    private readonly bound: number,
    private readonly calibration: AdcCalibration,
  ) {
    this.groups = calibration.granularity === 'column' ? layout.outFeatures : layout.colSpans.length;
    this.counts = layout.rowSpans.map(() => new Uint32Array(this.groups * BINS));
    this.max = layout.rowSpans.map(() => new Float64Array(this.groups));
  }

  private group(j: number): number {
    return this.calibration.granularity === 'column' ? j : this.layout.colTileOf[j]!;
  }

  /** Record row tile i's analog outputs y[B, out] (normalized units, before the ADC). */
  observe(i: number, y: Float32Array): void {
    const out = this.layout.outFeatures;
    const counts = this.counts[i]!;
    const max = this.max[i]!;
    const scale = BINS / DECADES;
    for (let k = 0; k < y.length; k++) {
      const g = this.group(k % out);
      const a = Math.abs(y[k]!);
      if (a > max[g]!) max[g] = a;
      const bin = a > 0 ? Math.floor((Math.log10(a / this.bound) + DECADES) * scale) : 0;
      counts[g * BINS + Math.min(BINS - 1, Math.max(0, bin))]!++;
    }
    this.seen += y.length;
  }

  /** Range gains per row tile, [out] each: bound / min(range, bound), the range the quantile of what was seen. */
  gains(): Float32Array[] {
    if (this.seen === 0) throw new Error('ADC range calibration: no calibration inputs were seen');
    const q = this.calibration.quantile;
    const out = this.layout.outFeatures;
    return this.counts.map((counts, i) => {
      const range = new Float64Array(this.groups);
      for (let g = 0; g < this.groups; g++) {
        const c = counts.subarray(g * BINS, (g + 1) * BINS);
        const n = c.reduce((a, b) => a + b, 0);
        let r = this.max[i]![g]!;
        if (q < 1 && n > 0) {
          const need = Math.ceil(q * n);
          let acc = 0;
          let b = 0;
          for (; b < BINS; b++) if ((acc += c[b]!) >= need) break;
          // The bin's upper edge, never above what was actually seen.
          r = Math.min(r, this.bound * 10 ** ((b + 1) / (BINS / DECADES) - DECADES));
        }
        range[g] = r;
      }
      const gain = new Float32Array(out);
      for (let j = 0; j < out; j++) {
        const r = range[this.group(j)]!;
        // An ADC that saw only zeros keeps its full range.
        gain[j] = r > 0 ? this.bound / Math.min(Math.max(r, this.bound * 10 ** -DECADES), this.bound) : 1;
      }
      return gain;
    });
  }
}
