/**
 * Periphery of a tile in the terms of the analog-tile kernel (src/tensor/kernels/analog-tile.ts,
 * where DAC, output noise, ADC and bound management are computed).
 *
 * Resolution follows aihwkit's convention: `bits` b gives a step of 1/(2^b − 2) of the
 * bound, i.e. 2^b − 1 levels symmetric about zero.
 */
import type { TilePeriphery } from '../tensor/kernels/index.js';
import type { ConverterSpec, PeripherySection } from '../device/types.js';

/** Quantization step of a converter in the units of its signal (bound · 1/(2^bits − 2)); 0 = none. */
export function converterStep(c: ConverterSpec): number {
  return c.bits === null ? 0 : c.bound / (2 ** c.bits - 2);
}

/** A profile's periphery section as the kernel's parameters. */
export function tilePeriphery(p: PeripherySection): TilePeriphery {
  return {
    dacStep: converterStep(p.dac),
    dacBound: p.dac.bound,
    adcStep: converterStep(p.adc),
    adcBound: p.adc.bound,
    outputNoise: p.outputNoise,
    inputNoise: p.inputNoise ?? 0,
    adcModel: p.adc.model ?? 'ideal',
    adcBits: p.adc.bits ?? 0,
    dacBits: p.dac.bits ?? 0,
    // Slicing needs DAC levels: a profile variant without quantization (the noise budget's ideal) reads in one pass.
    inputBitsPerPass: p.dac.bits === null ? 0 : (p.inputBitsPerPass ?? 0),
    absMax: p.noiseManagement === 'abs-max',
    iterative: p.boundManagement === 'iterative',
    iterations: p.boundManagementIterations,
  };
}
