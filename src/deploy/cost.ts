/**
 * Estimated energy and latency of one token through a deployed model, from the device
 * profile's cost constants (crossbar/cost.ts) and the adapter's digital work. Analog: every
 * analog site's MVM. Digital adapter work: the MACs a digital-placement adapter adds per
 * token, at DIGITAL_MAC_ENERGY each. Latency adds the sites' tile MVMs one after another
 * (an upper bound: a chip may run q, k and v concurrently) and leaves digital work out.
 */
import type { DeviceModel } from '../device/model.js';
import type { LinearSite } from '../model/linear.js';
import type { AttachedAdapter } from '../peft/host.js';
import { mvmCost } from '../crossbar/cost.js';
import { tileGrid } from '../crossbar/tiling.js';

/**
 * Energy of one digital multiply-accumulate in the periphery, pJ: a 16-bit floating-point
 * multiply (1.1 pJ) plus add (0.4 pJ) at 45 nm (Horowitz, ISSCC 2014). An assumption, stated.
 */
export const DIGITAL_MAC_ENERGY = 1.5;

export interface InferenceCost {
  /** Analog MVM energy per token, pJ. */
  analogEnergy: number;
  /** Digital adapter energy per token, pJ. */
  digitalEnergy: number;
  /** Digital adapter MACs per token. */
  digitalMacs: number;
  /** Sum of the analog sites' MVM latencies, ns per token. */
  latency: number;
  tiles: number;
}

/** Cost per token of `sites` on `device` with `adapter` attached (null: none). */
export function inferenceCost(sites: LinearSite[], device: DeviceModel, adapter: AttachedAdapter | null): InferenceCost {
  let analogEnergy = 0;
  let latency = 0;
  let tiles = 0;
  for (const s of sites) {
    const grid = tileGrid(s.inFeatures, s.outFeatures, device.tile.rows, device.tile.cols);
    const c = mvmCost(grid, device);
    analogEnergy += c.energy;
    latency += c.latency;
    tiles += grid.tiles;
  }
  const digitalMacs = adapter?.adapter.digitalMacsPerToken?.() ?? 0;
  return { analogEnergy, digitalEnergy: digitalMacs * DIGITAL_MAC_ENERGY, digitalMacs, latency, tiles };
}

/** One analog site of a model mapped onto a device (a row of `aimc model map`). */
export interface SiteMap {
  site: string;
  role: string;
  in: number;
  out: number;
  tiles: number;
  /** Fraction of the site's tiles' cells holding a weight. */
  utilization: number;
  energyPj: number;
  latencyNs: number;
}

/** A model's analog sites on a device's tiles: `aimc model map` as data. */
export interface ModelMap {
  device: string;
  tile: { rows: number; cols: number };
  totalTiles: number;
  utilization: number;
  analogParameters: number;
  /** Embeddings, norms, biases, heads. */
  digitalParameters: number;
  /** Per token through every analog site (no adapter): pJ, and ns with the sites one after another. */
  energyPjPerToken: number;
  latencyNsPerToken: number;
  sites: SiteMap[];
}

/** Tiles, utilization, energy and latency per analog site of `sites` (a model's, `parameters` in all) on `device`. */
export function mapModel(sites: LinearSite[], parameters: number, device: DeviceModel): ModelMap {
  const rows = sites.map((s) => {
    const g = tileGrid(s.inFeatures, s.outFeatures, device.tile.rows, device.tile.cols);
    const c = mvmCost(g, device);
    return {
      site: s.name,
      role: s.role,
      in: s.inFeatures,
      out: s.outFeatures,
      tiles: g.tiles,
      utilization: g.utilization,
      energyPj: c.energy,
      latencyNs: c.latency,
    };
  });
  const analog = sites.reduce((a, s) => a + s.weight.size, 0);
  const cost = inferenceCost(sites, device, null);
  const totalTiles = rows.reduce((a, r) => a + r.tiles, 0);
  return {
    device: device.name,
    tile: device.tile,
    totalTiles,
    utilization: analog / (totalTiles * device.tile.rows * device.tile.cols),
    analogParameters: analog,
    digitalParameters: parameters - analog,
    energyPjPerToken: cost.analogEnergy,
    latencyNsPerToken: cost.latency,
    sites: rows,
  };
}
