/**
 * Tiling of a weight matrix W[in, out] onto crossbars: rows are inputs, columns outputs.
 * Row tiles are summed digitally; column tiles are independent outputs.
 */

/** One contiguous range [start, start+size). */
export interface Span {
  start: number;
  size: number;
}

export interface TileGrid {
  inFeatures: number;
  outFeatures: number;
  rowSpans: Span[];
  colSpans: Span[];
  /** Total physical tiles used. */
  tiles: number;
  /** Fraction of the tiles' cells holding a weight (0–1). */
  utilization: number;
}

/** Split n into consecutive spans of at most `size`. */
export function splitSpans(n: number, size: number): Span[] {
  const spans: Span[] = [];
  for (let s = 0; s < n; s += size) spans.push({ start: s, size: Math.min(size, n - s) });
  return spans;
}

/** Tile grid for W[inFeatures, outFeatures] on tiles of rows × cols. */
export function tileGrid(inFeatures: number, outFeatures: number, rows: number, cols: number): TileGrid {
  const rowSpans = splitSpans(inFeatures, rows);
  const colSpans = splitSpans(outFeatures, cols);
  const tiles = rowSpans.length * colSpans.length;
  return {
    inFeatures,
    outFeatures,
    rowSpans,
    colSpans,
    tiles,
    utilization: (inFeatures * outFeatures) / (tiles * rows * cols),
  };
}
