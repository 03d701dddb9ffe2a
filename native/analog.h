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
};

/**
 * out[B, outF] = analog x[B, inF]·W. Row tile i covers inputs [row_start[i], row_start[i+1])
 * with normalized weights weights[i] ([size_i, outF]) and scales scales[i] ([outF]);
 * states holds the Tyche-i state of output-noise stream (i, k) at ((i·(max_iter+1)) + k)·4,
 * in_states those of the input-noise streams; nonlinearity is empty (linear outputs) or one
 * [outF] vector of n per row tile (y → y / (1 + n·|y|) before the ADC).
 */
void analog_forward(const float* x, int B, int inF, int outF, const std::vector<int>& row_start, const std::vector<const float*>& weights,
                    const std::vector<const float*>& scales, const int32_t* col_tile_of, int n_col_tiles, const AnalogParams& p,
                    int32_t* states, int32_t* in_states, const std::vector<const float*>& nonlinearity, float* out);

}  // namespace aimc
