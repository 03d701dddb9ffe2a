// Fused analog tile MVM: the periphery of src/crossbar/fused-periphery.ts in C++, with the
// same rounding points and the same noise streams, so both produce identical bits.
#pragma once
#include <cstdint>
#include <vector>

namespace aimc {

struct AnalogParams {
  double dac_step, dac_bound, adc_step, adc_bound, sigma;
  bool abs_max, iterative;
  int max_iter;
  double gdc;
  double input_noise;
  int adc_model;  // 0 ideal, 1 ramp, 2 sar
  int adc_bits;
  int bits_per_pass;  // input bit slicing: bits per pass (0 = one pass)
  int dac_bits;
};

// One row tile's ADC mismatch per output column (ramp: gain, offset; sar: offset, bit weights).
struct AdcColumns {
  const float* gain;
  const float* offset;
  const float* weights;  // sar: [outF × (adc_bits + 1)], cycle k of column j at j·(adc_bits + 1) + k
};

/**
 * out[B, outF] = analog x[B, inF]·W. Row tile i covers inputs [row_start[i], row_start[i] + row_size[i])
 * (weight slices of one span repeat it)
 * with normalized weights weights[i] ([size_i, outF]) and scales scales[i] ([outF]);
 * states holds the Tyche-i state of output-noise stream (i, k, pass) at
 * (((i·(max_iter+1)) + k)·passes + pass)·4, in_states those of the input-noise streams; nonlinearity is empty (linear outputs) or one
 * [outF] vector of n per row tile (y → y / (1 + n·|y|) before the ADC); adc is empty (ideal
 * quantizer) or one AdcColumns per row tile; range_gain is empty (every ADC at its full bound) or
 * one [outF] vector per row tile of g = bound / calibrated range (the ADC converts g·y, the
 * result is divided by g: an ADC of range bound/g with the same levels).
 */
void analog_forward(const float* x, int B, int inF, int outF, const std::vector<int>& row_start, const std::vector<int>& row_size,
                    const std::vector<const float*>& weights,
                    const std::vector<const float*>& scales, const int32_t* col_tile_of, int n_col_tiles, const AnalogParams& p,
                    int32_t* states, int32_t* in_states, const std::vector<const float*>& nonlinearity,
                    const std::vector<AdcColumns>& adc, const std::vector<const float*>& range_gain, float* out);

}  // namespace aimc
