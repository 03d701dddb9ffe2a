/**
 * Energy and latency of analog MVMs from a profile's cost constants.
 * Counts per input vector: every input element is converted once per column tile it
 * drives (DAC), every output element once per row tile that produces a partial sum (ADC),
 * and every device of every used cell is read. Tiles of one layer run in parallel, so a
 * layer's latency is one tile MVM (times the bound-management repeats, not counted here).
 * With input bit slicing (P passes) every output is converted P times and a layer takes P
 * tile MVMs; the DAC applies the same pulses in all, so its energy is unchanged. With N
 * weight slices every output is converted and every cell read N times (the slices share the
 * input drivers and run in parallel).
 */
import type { DeviceModel } from '../device/model.js';
import type { TileGrid } from './tiling.js';
import { tilePeriphery } from './periphery.js';
import { inputPasses } from '../tensor/kernels/index.js';

export interface MvmCost {
  /** pJ per input vector. */
  energy: number;
  /** ns per input vector for the layer. */
  latency: number;
  dacConversions: number;
  adcConversions: number;
  cellReads: number;
}

/** Cost of one input vector through a layer tiled as `grid` on `device`. */
export function mvmCost(grid: TileGrid, device: DeviceModel): MvmCost {
  const c = device.cost;
  const dacConversions = grid.inFeatures * grid.colSpans.length;
  const passes = inputPasses(tilePeriphery(device.periphery));
  // Weight slices are arrays of their own: each converts its outputs and reads its cells.
  const slices = device.profile.mapping.slices?.count ?? 1;
  const adcConversions = grid.outFeatures * grid.rowSpans.length * passes * slices;
  const conductancesPerWeight = device.profile.mapping.scheme === 'differential' ? 2 : 1;
  const cellReads = grid.inFeatures * grid.outFeatures * conductancesPerWeight * device.profile.mapping.devicesPerConductance * slices;
  return {
    energy: dacConversions * c.dacEnergy + adcConversions * c.adcEnergy + cellReads * c.cellReadEnergy,
    latency: c.mvmLatency * passes,
    dacConversions,
    adcConversions,
    cellReads,
  };
}
