// Node-API surface of aimc's native kernels. Arrays are Float32Array views (typically of the
// tfjs wasm heap); their memory is used in place, never copied.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "analog.h"
#include "expr.h"
#include "ir_drop.h"
#include "random.h"
#include "sgemm.h"
#include "tensor_ops.h"

namespace {

struct F32 {
  float* data;
  size_t length;
};

bool get_f32(const Napi::Env& env, const Napi::Value& v, const char* name, F32* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, std::string(name) + " must be a Float32Array").ThrowAsJavaScriptException();
    return false;
  }
  auto a = v.As<Napi::Float32Array>();
  out->data = a.Data();
  out->length = a.ElementLength();
  return true;
}

bool get_dim(const Napi::Env& env, const Napi::Value& v, const char* name, int* out) {
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<int>(d)) {
    Napi::RangeError::New(env, std::string(name) + " must be a non-negative integer").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

// sgemm(M, N, K, a, b, c, transA, transB, beta): c[M,N] = op(a)·op(b) (+ c when beta).
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) {
    Napi::TypeError::New(env, "sgemm(M, N, K, a, b, c, transA, transB, beta) takes 9 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int M, N, K;
  F32 a, b, c;
  if (!get_dim(env, info[0], "M", &M) || !get_dim(env, info[1], "N", &N) || !get_dim(env, info[2], "K", &K) ||
      !get_f32(env, info[3], "a", &a) || !get_f32(env, info[4], "b", &b) || !get_f32(env, info[5], "c", &c)) {
    return env.Undefined();
  }
  const size_t m = M, n = N, k = K;
  if (a.length < m * k || b.length < k * n || c.length < m * n) {
    Napi::RangeError::New(env, "sgemm: array too short for the given M, N, K").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::sgemm(M, N, K, a.data, b.data, c.data, info[6].ToBoolean(), info[7].ToBoolean(), info[8].ToBoolean());
  return env.Undefined();
}

template <typename T, typename A>
bool get_typed(const Napi::Env& env, const Napi::Value& v, napi_typedarray_type type, const char* name, T** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    Napi::TypeError::New(env, std::string(name) + " has the wrong array type").ThrowAsJavaScriptException();
    return false;
  }
  auto a = v.As<A>();
  *data = a.Data();
  *len = a.ElementLength();
  return true;
}

// setZigguratTables(kn: Int32Array(128), wn: Float64Array(128), fn: Float64Array(128))
Napi::Value SetZigguratTables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* kn;
  double *wn, *fn;
  size_t l1, l2, l3;
  if (info.Length() != 3 || !get_typed<int32_t, Napi::Int32Array>(env, info[0], napi_int32_array, "kn", &kn, &l1) ||
      !get_typed<double, Napi::Float64Array>(env, info[1], napi_float64_array, "wn", &wn, &l2) ||
      !get_typed<double, Napi::Float64Array>(env, info[2], napi_float64_array, "fn", &fn, &l3)) {
    return env.Undefined();
  }
  if (l1 != 128 || l2 != 128 || l3 != 128) {
    Napi::RangeError::New(env, "ziggurat tables must have 128 entries").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::set_ziggurat_tables(kn, wn, fn);
  return env.Undefined();
}

// fillNormal(state: Int32Array(4), out: Float32Array) / fillUniform(...): advance state in place.
template <bool Normal>
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* st;
  size_t ls;
  F32 out;
  if (info.Length() != 2 || !get_typed<int32_t, Napi::Int32Array>(env, info[0], napi_int32_array, "state", &st, &ls) ||
      !get_f32(env, info[1], "out", &out)) {
    return env.Undefined();
  }
  if (ls != 4) {
    Napi::RangeError::New(env, "state must have 4 entries").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (Normal && !aimc::ziggurat_ready()) {
    Napi::Error::New(env, "ziggurat tables not set").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (Normal) aimc::fill_normal(st, out.data, out.length);
  else aimc::fill_uniform(st, out.data, out.length);
  return env.Undefined();
}

// An optional Float32Array per row tile (an empty array: none), each at least outF long.
bool row_tile_vectors(const Napi::Env& env, const Napi::Value& v, const char* name, int tiles, int outF, std::vector<const float*>* out) {
  auto a = v.As<Napi::Array>();
  if (a.Length() != 0 && static_cast<int>(a.Length()) != tiles) {
    Napi::RangeError::New(env, std::string("analogForward: ") + name + " is empty or one vector per row tile").ThrowAsJavaScriptException();
    return false;
  }
  out->assign(a.Length(), nullptr);
  for (uint32_t i = 0; i < a.Length(); i++) {
    F32 x;
    if (!get_f32(env, a.Get(i), (std::string(name) + "[i]").c_str(), &x)) return false;
    if (x.length < static_cast<size_t>(outF)) {
      Napi::RangeError::New(env, std::string("analogForward: ") + name + " vector too short").ThrowAsJavaScriptException();
      return false;
    }
    (*out)[i] = x.data;
  }
  return true;
}

// analogForward(x, B, inF, outF, rowSpans: Int32Array(2·tiles) of (start, size), weights: Float32Array[],
//               scales: Float32Array[], colTileOf: Int32Array(outF), nColTiles,
//               params: Float64Array [dacStep, dacBound, adcStep, adcBound, sigma, absMax,
//               iterative, maxIter, gdc, inputNoise], states: Int32Array(tiles·(maxIter+1)·4),
//               inputStates: the same for input noise, nonlinearity: Float32Array[] (empty or one
//               [outF] per row tile), adcGain, adcOffset, sarWeights: Float32Array[] (empty or one
//               per row tile), out); params end with [..., inputNoise, adcModel, adcBits,
//               bitsPerPass, dacBits]; states hold tiles·(maxIter+1)·passes·4
Napi::Value AnalogForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 18) {
    Napi::TypeError::New(env, "analogForward takes 18 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  F32 x, out;
  int B, inF, outF, nct;
  int32_t *rs, *cto, *states, *in_states;
  double* prm;
  size_t lrs, lcto, lst, lprm, lin;
  if (!get_f32(env, info[0], "x", &x) || !get_dim(env, info[1], "B", &B) || !get_dim(env, info[2], "inF", &inF) ||
      !get_dim(env, info[3], "outF", &outF) || !get_typed<int32_t, Napi::Int32Array>(env, info[4], napi_int32_array, "rowSpans", &rs, &lrs) ||
      !get_typed<int32_t, Napi::Int32Array>(env, info[7], napi_int32_array, "colTileOf", &cto, &lcto) || !get_dim(env, info[8], "nColTiles", &nct) ||
      !get_typed<double, Napi::Float64Array>(env, info[9], napi_float64_array, "params", &prm, &lprm) ||
      !get_typed<int32_t, Napi::Int32Array>(env, info[10], napi_int32_array, "states", &states, &lst) ||
      !get_typed<int32_t, Napi::Int32Array>(env, info[11], napi_int32_array, "inputStates", &in_states, &lin) || !get_f32(env, info[17], "out", &out)) {
    return env.Undefined();
  }
  if (!info[5].IsArray() || !info[6].IsArray() || !info[12].IsArray() || !info[13].IsArray() || !info[14].IsArray() || !info[15].IsArray() ||
      !info[16].IsArray() || lrs < 2 || lprm != 14) {
    Napi::TypeError::New(env, "analogForward: bad weights/scales/rowSpans/params").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Row tiles as (start, size) pairs: weight slices of one span repeat it.
  if (lrs % 2 != 0) {
    Napi::TypeError::New(env, "analogForward: rowSpans holds (start, size) pairs").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int tiles = static_cast<int>(lrs) / 2;
  auto wa = info[5].As<Napi::Array>();
  auto sa = info[6].As<Napi::Array>();
  if (static_cast<int>(wa.Length()) != tiles || static_cast<int>(sa.Length()) != tiles) {
    Napi::RangeError::New(env, "analogForward: one weight block and one scale vector per row tile").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::AnalogParams p{prm[0], prm[1], prm[2], prm[3], prm[4], prm[5] != 0, prm[6] != 0, static_cast<int>(prm[7]), prm[8], prm[9],
                       static_cast<int>(prm[10]), static_cast<int>(prm[11]), static_cast<int>(prm[12]), static_cast<int>(prm[13])};
  if (p.bits_per_pass < 0 || p.bits_per_pass > 24 || (p.bits_per_pass > 0 && (p.dac_bits < 1 || p.dac_bits > 24 || p.dac_step <= 0))) {
    Napi::RangeError::New(env, "analogForward: input bit slicing needs a quantizing DAC of 1..24 bits").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int passes = p.bits_per_pass > 0 ? (p.dac_bits + p.bits_per_pass - 1) / p.bits_per_pass : 1;
  std::vector<int> row_start(tiles), row_size(tiles);
  for (int i = 0; i < tiles; i++) {
    row_start[i] = rs[2 * i];
    row_size[i] = rs[2 * i + 1];
    if (row_start[i] < 0 || row_size[i] <= 0 || row_start[i] + row_size[i] > inF) {
      Napi::RangeError::New(env, "analogForward: a row span lies outside the input").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  std::vector<const float*> w(tiles), s(tiles);
  for (int i = 0; i < tiles; i++) {
    F32 wi, si;
    if (!get_f32(env, wa.Get(i), "weights[i]", &wi) || !get_f32(env, sa.Get(i), "scales[i]", &si)) return env.Undefined();
    const int size = row_size[i];
    if (size <= 0 || wi.length < static_cast<size_t>(size) * outF || si.length < static_cast<size_t>(outF)) {
      Napi::RangeError::New(env, "analogForward: weight block or scales too short").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    w[i] = wi.data;
    s[i] = si.data;
  }
  // Optional per-row-tile vectors: output non-linearity n, and the ADC range gains (the
  // calibrated range r of each column's ADC as the analog gain bound/r before it).
  std::vector<const float*> nl, rg;
  if (!row_tile_vectors(env, info[12], "nonlinearity", tiles, outF, &nl) || !row_tile_vectors(env, info[16], "adcRangeGain", tiles, outF, &rg)) {
    return env.Undefined();
  }
  std::vector<aimc::AdcColumns> adc;
  {
    auto ga = info[13].As<Napi::Array>(), oa = info[14].As<Napi::Array>(), wa2 = info[15].As<Napi::Array>();
    const uint32_t na2 = ga.Length();
    if (na2 != oa.Length() || na2 != wa2.Length() || (na2 != 0 && static_cast<int>(na2) != tiles) || (p.adc_model != 0 && na2 == 0) ||
        p.adc_model < 0 || p.adc_model > 2 || (p.adc_model == 2 && (p.adc_bits < 1 || p.adc_bits > 24 || p.adc_step <= 0))) {
      Napi::RangeError::New(env, "analogForward: ADC columns are empty or one set per row tile, matching the model").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    for (uint32_t i = 0; i < na2; i++) {
      F32 g, o, w2;
      if (!get_f32(env, ga.Get(i), "adcGain[i]", &g) || !get_f32(env, oa.Get(i), "adcOffset[i]", &o) || !get_f32(env, wa2.Get(i), "sarWeights[i]", &w2)) {
        return env.Undefined();
      }
      const size_t need_w = p.adc_model == 2 ? static_cast<size_t>(outF) * (p.adc_bits + 1) : 0;
      if (g.length < static_cast<size_t>(outF) || o.length < static_cast<size_t>(outF) || w2.length < need_w) {
        Napi::RangeError::New(env, "analogForward: ADC column arrays too short").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      adc.push_back({g.data, o.data, w2.data});
    }
  }
  const size_t need_states = static_cast<size_t>(tiles) * (p.max_iter + 1) * passes * 4;
  if (x.length < static_cast<size_t>(B) * inF || out.length < static_cast<size_t>(B) * outF || lcto < static_cast<size_t>(outF) ||
      lst < need_states || lin < need_states || ((p.sigma > 0 || p.input_noise > 0) && !aimc::ziggurat_ready())) {
    Napi::RangeError::New(env, "analogForward: array sizes do not match the shapes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::analog_forward(x.data, B, inF, outF, row_start, row_size, w, s, cto, nct, p, states, in_states, nl, adc, rg, out.data);
  return env.Undefined();
}

// sgemmBatched(batch, M, N, K, a, strideA, b, strideB, c, transA, transB)
Napi::Value SgemmBatched(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 11) {
    Napi::TypeError::New(env, "sgemmBatched takes 11 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int batch, M, N, K, sa, sb;
  F32 a, b, c;
  if (!get_dim(env, info[0], "batch", &batch) || !get_dim(env, info[1], "M", &M) || !get_dim(env, info[2], "N", &N) ||
      !get_dim(env, info[3], "K", &K) || !get_f32(env, info[4], "a", &a) || !get_dim(env, info[5], "strideA", &sa) ||
      !get_f32(env, info[6], "b", &b) || !get_dim(env, info[7], "strideB", &sb) || !get_f32(env, info[8], "c", &c)) {
    return env.Undefined();
  }
  const size_t mk = static_cast<size_t>(M) * K, kn = static_cast<size_t>(K) * N, mn = static_cast<size_t>(M) * N;
  const size_t last = batch > 0 ? batch - 1 : 0;
  if (batch > 0 && (a.length < static_cast<size_t>(sa) * last + mk || b.length < static_cast<size_t>(sb) * last + kn || c.length < mn * batch)) {
    Napi::RangeError::New(env, "sgemmBatched: array too short for the given shapes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::sgemm_batched(batch, M, N, K, a.data, sa, b.data, sb, c.data, info[9].ToBoolean(), info[10].ToBoolean());
  return env.Undefined();
}

// evalExpr(program: Float64Array, depth, vars: Float32Array[], out: Float32Array)
Napi::Value EvalExpr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double* prog;
  size_t lp;
  int depth;
  F32 out;
  if (info.Length() != 4 || !get_typed<double, Napi::Float64Array>(env, info[0], napi_float64_array, "program", &prog, &lp) ||
      !get_dim(env, info[1], "depth", &depth) || !info[2].IsArray() || !get_f32(env, info[3], "out", &out)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "evalExpr(program, depth, vars[], out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto va = info[2].As<Napi::Array>();
  const int nv = static_cast<int>(va.Length());
  std::vector<const float*> vars(nv);
  std::vector<size_t> lens(nv);
  for (int k = 0; k < nv; k++) {
    F32 v;
    if (!get_f32(env, va.Get(k), "vars[k]", &v)) return env.Undefined();
    if (v.length != 1 && v.length != out.length) {
      Napi::RangeError::New(env, "evalExpr: each variable must have length 1 or the output's length").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    vars[k] = v.data;
    lens[k] = v.length;
  }
  // Validate the program: known opcodes, variable indexes in range, stack within depth.
  int sp = 0;
  for (size_t pc = 0; pc < lp / 2; pc++) {
    const int op = static_cast<int>(prog[2 * pc]);
    if (op == 0 && (prog[2 * pc + 1] < 0 || prog[2 * pc + 1] >= nv)) sp = -1000;
    if (op == 0 || op == 1) sp++;
    else if (op >= 2 && op <= 14) sp--;
    else if (op < 20 || op > 25) sp = -1000;
    if (sp <= 0 || sp > depth) {
      Napi::RangeError::New(env, "evalExpr: malformed program").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (sp != 1) {
    Napi::RangeError::New(env, "evalExpr: program must leave one value").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::eval_expr(prog, static_cast<int>(lp / 2), depth, vars.data(), lens.data(), nv, out.data, out.length);
  return env.Undefined();
}

// adamw(w, g, m, v, beta1, beta2, c1, c2, eps, decay): one fused AdamW update in place;
// the same arithmetic, in the same order, as fusedUpdate() in src/train/adamw.ts.
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 w, g, m, v;
  if (info.Length() != 10 || !get_f32(env, info[0], "w", &w) || !get_f32(env, info[1], "g", &g) || !get_f32(env, info[2], "m", &m) ||
      !get_f32(env, info[3], "v", &v)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "adamw(w, g, m, v, beta1, beta2, c1, c2, eps, decay)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (g.length != w.length || m.length != w.length || v.length != w.length) {
    Napi::RangeError::New(env, "adamw: w, g, m, v must have the same length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double k[6];
  for (int i = 0; i < 6; i++) k[i] = info[4 + i].As<Napi::Number>().DoubleValue();
  const double b1 = k[0], b2 = k[1], c1 = k[2], c2 = k[3], eps = k[4], decay = k[5];
  float *W = w.data, *G = g.data, *M = m.data, *V = v.data;
  const size_t n = w.length;
  auto body = [=](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) {
      const double gi = G[i];
      const double mi = b1 * M[i] + (1 - b1) * gi;
      const double vi = b2 * V[i] + (1 - b2) * gi * gi;
      M[i] = static_cast<float>(mi);
      V[i] = static_cast<float>(vi);
      W[i] = static_cast<float>(W[i] * decay - (c1 * mi) / (std::sqrt(vi) * c2 + eps));
    }
  };
  if (n < 65536) body(0, n);
  else aimc::parallel([&](int t, int T) { body(n * t / T, n * (t + 1) / T); });
  return env.Undefined();
}

// layerNorm(mode, M, N, eps, a0..a5): mode 0 forward (x, g, b -> y, xhat, rstd);
// mode 1 backward (dy, xhat, rstd, g -> dx, dg, db). Rows split over the pool; the γ/β
// gradient sums go through fixed 64-row blocks so results do not depend on the thread count.
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int mode, M, N;
  if (info.Length() != 11 || !get_dim(env, info[0], "mode", &mode) || !get_dim(env, info[1], "M", &M) || !get_dim(env, info[2], "N", &N)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "layerNorm(mode, M, N, eps, 7 arrays)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double eps = info[3].As<Napi::Number>().DoubleValue();
  F32 a[7];
  const char* names[7] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6"};
  for (int i = 0; i < 7; i++)
    if (!get_f32(env, info[4 + i], names[i], &a[i])) return env.Undefined();
  const size_t mn = static_cast<size_t>(M) * N;
  if (mode == 0) {
    // x, g, b, y, xhat, rstd, (unused)
    if (a[0].length < mn || a[1].length < static_cast<size_t>(N) || a[2].length < static_cast<size_t>(N) || a[3].length < mn ||
        a[4].length < mn || a[5].length < static_cast<size_t>(M)) {
      Napi::RangeError::New(env, "layerNorm: arrays too short").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const float *x = a[0].data, *g = a[1].data, *b = a[2].data;
    float *y = a[3].data, *xh = a[4].data, *rs = a[5].data;
    aimc::parallel([&](int t, int T) {
      for (int i = M * t / T; i < M * (t + 1) / T; i++) {
        const float* xr = x + static_cast<size_t>(i) * N;
        double s = 0;
        for (int j = 0; j < N; j++) s += xr[j];
        const double mean = s / N;
        double v = 0;
        for (int j = 0; j < N; j++) v += (xr[j] - mean) * (xr[j] - mean);
        const double r = 1 / std::sqrt(v / N + eps);
        rs[i] = static_cast<float>(r);
        for (int j = 0; j < N; j++) {
          const float h = static_cast<float>((xr[j] - mean) * r);
          xh[static_cast<size_t>(i) * N + j] = h;
          y[static_cast<size_t>(i) * N + j] = h * g[j] + b[j];
        }
      }
    });
    return env.Undefined();
  }
  // dy, xhat, rstd, g, dx, dg, db
  if (a[0].length < mn || a[1].length < mn || a[2].length < static_cast<size_t>(M) || a[3].length < static_cast<size_t>(N) || a[4].length < mn ||
      a[5].length < static_cast<size_t>(N) || a[6].length < static_cast<size_t>(N)) {
    Napi::RangeError::New(env, "layerNorm: arrays too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float *dy = a[0].data, *xh = a[1].data, *rs = a[2].data, *g = a[3].data;
  float *dx = a[4].data, *dg = a[5].data, *db = a[6].data;
  constexpr int BLK = 64;
  const int blocks = (M + BLK - 1) / BLK;
  std::vector<double> pg(static_cast<size_t>(blocks) * N, 0.0), pb(static_cast<size_t>(blocks) * N, 0.0);
  aimc::parallel([&](int t, int T) {
    for (int blk = blocks * t / T; blk < blocks * (t + 1) / T; blk++) {
      double* bg = pg.data() + static_cast<size_t>(blk) * N;
      double* bb = pb.data() + static_cast<size_t>(blk) * N;
      for (int i = blk * BLK; i < std::min(M, (blk + 1) * BLK); i++) {
        const size_t o = static_cast<size_t>(i) * N;
        double s1 = 0, s2 = 0;
        for (int j = 0; j < N; j++) {
          const double d = static_cast<double>(dy[o + j]) * g[j];
          s1 += d;
          s2 += d * xh[o + j];
          bg[j] += static_cast<double>(dy[o + j]) * xh[o + j];
          bb[j] += dy[o + j];
        }
        const double m1 = s1 / N, m2 = s2 / N, r = rs[i];
        for (int j = 0; j < N; j++) dx[o + j] = static_cast<float>(r * (static_cast<double>(dy[o + j]) * g[j] - m1 - xh[o + j] * m2));
      }
    }
  });
  for (int j = 0; j < N; j++) {
    double sg = 0, sb = 0;
    for (int blk = 0; blk < blocks; blk++) {
      sg += pg[static_cast<size_t>(blk) * N + j];
      sb += pb[static_cast<size_t>(blk) * N + j];
    }
    dg[j] = static_cast<float>(sg);
    db[j] = static_cast<float>(sb);
  }
  return env.Undefined();
}

// softmaxXent(N, V, logits[N·V], targets: Int32Array(N), scale, loss[N], grad[N·V]): per row
// loss = logsumexp(z) − z[target] and grad = (softmax(z) − onehot(target))·scale, in one pass
// over the logits (float64 sums). A negative target marks a row to ignore (loss 0, grad 0).
Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int N, V;
  int32_t* tg = nullptr;
  size_t lt = 0;
  F32 z, loss, grad;
  if (info.Length() != 7 || !get_dim(env, info[0], "N", &N) || !get_dim(env, info[1], "V", &V) || !get_f32(env, info[2], "logits", &z) ||
      !get_typed<int32_t, Napi::Int32Array>(env, info[3], napi_int32_array, "targets", &tg, &lt) || !info[4].IsNumber() ||
      !get_f32(env, info[5], "loss", &loss) || !get_f32(env, info[6], "grad", &grad)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "softmaxXent(N, V, logits, targets, scale, loss, grad)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t nv = static_cast<size_t>(N) * V;
  if (z.length < nv || grad.length < nv || loss.length < static_cast<size_t>(N) || lt < static_cast<size_t>(N)) {
    Napi::RangeError::New(env, "softmaxXent: arrays too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (int i = 0; i < N; i++)
    if (tg[i] >= V) {
      Napi::RangeError::New(env, "softmaxXent: target out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  const float scale = static_cast<float>(info[4].As<Napi::Number>().DoubleValue());
  const float* zd = z.data;
  float* gd = grad.data;
  float* ld = loss.data;
  aimc::parallel([&](int t, int T) {
    for (int i = static_cast<int>(static_cast<int64_t>(N) * t / T); i < static_cast<int>(static_cast<int64_t>(N) * (t + 1) / T); i++) {
      const float* zr = zd + static_cast<size_t>(i) * V;
      float* gr = gd + static_cast<size_t>(i) * V;
      if (tg[i] < 0) {
        std::fill(gr, gr + V, 0.0f);
        ld[i] = 0;
        continue;
      }
      float m = zr[0];
      for (int j = 1; j < V; j++) m = std::max(m, zr[j]);
      double s = 0;
      for (int j = 0; j < V; j++) {
        const float e = std::exp(zr[j] - m);
        gr[j] = e;
        s += e;
      }
      const float inv = static_cast<float>(1.0 / s) * scale;
      for (int j = 0; j < V; j++) gr[j] *= inv;
      gr[tg[i]] -= scale;
      ld[i] = static_cast<float>(std::log(s) + m - zr[tg[i]]);
    }
  });
  return env.Undefined();
}

// gelu(mode, x, a, out): mode 0 out = x·Φ(x) (exact, erf); mode 1 out = a·(Φ(x) + x·φ(x)),
// the gradient with upstream a; modes 2 and 3 the same for GPT-2's tanh approximation.
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int mode;
  F32 x, a, out;
  if (info.Length() != 4 || !get_dim(env, info[0], "mode", &mode) || !get_f32(env, info[1], "x", &x) || !get_f32(env, info[2], "a", &a) ||
      !get_f32(env, info[3], "out", &out)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "gelu(mode, x, a, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t n = x.length;
  if (mode > 3 || out.length < n || ((mode & 1) && a.length < n)) {
    Napi::RangeError::New(env, "gelu: arrays too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float* xd = x.data;
  const float* ad = a.data;
  float* od = out.data;
  aimc::parallel([&](int t, int T) {
    const size_t lo = n * t / T, hi = n * (t + 1) / T;
    constexpr float C = 0.79788456080286536f, K = 0.044715f;  // sqrt(2/pi), GPT-2's cubic term
    switch (mode) {
      case 0:
        for (size_t i = lo; i < hi; i++) od[i] = 0.5f * xd[i] * (1.0f + std::erf(xd[i] * 0.70710678118654752f));
        break;
      case 1:
        for (size_t i = lo; i < hi; i++) {
          const float v = xd[i];
          const float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752f));
          const float pdf = 0.39894228040143268f * std::exp(-0.5f * v * v);
          od[i] = ad[i] * (cdf + v * pdf);
        }
        break;
      case 2:
        for (size_t i = lo; i < hi; i++) {
          const float v = xd[i];
          od[i] = 0.5f * v * (1.0f + std::tanh(C * (v + K * v * v * v)));
        }
        break;
      default:
        for (size_t i = lo; i < hi; i++) {
          const float v = xd[i];
          const float th = std::tanh(C * (v + K * v * v * v));
          od[i] = ad[i] * (0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * C * (1.0f + 3.0f * K * v * v));
        }
    }
  });
  return env.Undefined();
}


/** An Int32Array of dimensions, each >= 0 (rank <= 8); false after throwing. */
bool get_shape(const Napi::Env& env, const Napi::Value& v, const char* name, std::vector<int>* out, int64_t* size) {
  int32_t* d;
  size_t n;
  if (!get_typed<int32_t, Napi::Int32Array>(env, v, napi_int32_array, name, &d, &n)) return false;
  if (n > 8) {
    Napi::RangeError::New(env, std::string(name) + ": rank above 8").ThrowAsJavaScriptException();
    return false;
  }
  out->assign(d, d + n);
  *size = 1;
  for (int x : *out) {
    if (x < 0) {
      Napi::RangeError::New(env, std::string(name) + ": negative dimension").ThrowAsJavaScriptException();
      return false;
    }
    *size *= x;
  }
  return true;
}

// transpose(in, shape, perm, out): out dimension d is input dimension perm[d].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 in, out;
  std::vector<int> shape, perm;
  int64_t n, pn;
  if (info.Length() != 4 || !get_f32(env, info[0], "in", &in) || !get_shape(env, info[1], "shape", &shape, &n) ||
      !get_shape(env, info[2], "perm", &perm, &pn) || !get_f32(env, info[3], "out", &out)) {
    return env.Undefined();
  }
  std::vector<bool> seen(shape.size(), false);
  bool ok = perm.size() == shape.size() && !shape.empty();
  for (int p : perm) ok = ok && p >= 0 && p < static_cast<int>(shape.size()) && !seen[p] && (seen[p] = true);
  if (!ok || in.length < static_cast<size_t>(n) || out.length < static_cast<size_t>(n)) {
    Napi::RangeError::New(env, "transpose: perm is not a permutation of the shape's axes, or an array is too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::transpose(in.data, shape.data(), perm.data(), static_cast<int>(shape.size()), out.data);
  return env.Undefined();
}

// binary(op, a, aShape, b, bShape, outShape, out): broadcasting add/sub/mul/div (op 0..3);
// the three shapes have the same rank (padded with leading 1s by the caller).
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op;
  F32 a, b, out;
  std::vector<int> as, bs, os;
  int64_t na, nb, no;
  if (info.Length() != 7 || !get_dim(env, info[0], "op", &op) || !get_f32(env, info[1], "a", &a) || !get_shape(env, info[2], "aShape", &as, &na) ||
      !get_f32(env, info[3], "b", &b) || !get_shape(env, info[4], "bShape", &bs, &nb) || !get_shape(env, info[5], "outShape", &os, &no) ||
      !get_f32(env, info[6], "out", &out)) {
    return env.Undefined();
  }
  bool ok = op <= 3 && as.size() == os.size() && bs.size() == os.size();
  for (size_t d = 0; ok && d < os.size(); d++) ok = (as[d] == os[d] || as[d] == 1) && (bs[d] == os[d] || bs[d] == 1);
  if (!ok || a.length < static_cast<size_t>(na) || b.length < static_cast<size_t>(nb) || out.length < static_cast<size_t>(no)) {
    Napi::RangeError::New(env, "binary: shapes do not broadcast to the output shape, or an array is too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::binary(op, a.data, as.data(), b.data, bs.data(), os.data(), static_cast<int>(os.size()), out.data);
  return env.Undefined();
}

// reduceSum(in, k1, r, k2, out): out[k1·k2] = Σ over the middle axis of in[k1, r, k2].
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 in, out;
  if (info.Length() != 5 || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() || !get_f32(env, info[0], "in", &in) ||
      !get_f32(env, info[4], "out", &out)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "reduceSum(in, k1, r, k2, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double k1 = info[1].As<Napi::Number>().DoubleValue(), r = info[2].As<Napi::Number>().DoubleValue(), k2 = info[3].As<Napi::Number>().DoubleValue();
  const bool whole = k1 >= 0 && r >= 0 && k2 >= 0 && k1 == std::floor(k1) && r == std::floor(r) && k2 == std::floor(k2);
  if (!whole || in.length < static_cast<size_t>(k1 * r * k2) || out.length < static_cast<size_t>(k1 * k2)) {
    Napi::RangeError::New(env, "reduceSum: sizes are not whole numbers, or an array is too short").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::reduce_sum(in.data, static_cast<int64_t>(k1), static_cast<int64_t>(r), static_cast<int64_t>(k2), out.data);
  return env.Undefined();
}

// irDrop(g, R, N, rRow, rCol, out): IR drop's effective conductances of one array (ir_drop.h).
Napi::Value IrDrop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int R, N;
  F32 g, out;
  if (info.Length() != 6 || !get_f32(env, info[0], "g", &g) || !get_dim(env, info[1], "R", &R) || !get_dim(env, info[2], "N", &N) ||
      !info[3].IsNumber() || !info[4].IsNumber() || !get_f32(env, info[5], "out", &out)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "irDrop(g, R, N, rRow, rCol, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double r_row = info[3].As<Napi::Number>().DoubleValue(), r_col = info[4].As<Napi::Number>().DoubleValue();
  const size_t n = static_cast<size_t>(R) * N;
  if (R == 0 || N == 0 || g.length < n || out.length < n || !(r_row >= 0) || !(r_col >= 0) || !std::isfinite(r_row) || !std::isfinite(r_col)) {
    Napi::RangeError::New(env, "irDrop: empty array, arrays shorter than R x N, or a segment resistance not finite and >= 0").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::ir_drop(g.data, R, N, r_row, r_col, out.data);
  return env.Undefined();
}

// unary(op, in, alpha, out): op 0 relu, 1 step (alpha below zero).
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op;
  F32 in, out;
  if (info.Length() != 4 || !get_dim(env, info[0], "op", &op) || !get_f32(env, info[1], "in", &in) || !info[2].IsNumber() ||
      !get_f32(env, info[3], "out", &out)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "unary(op, in, alpha, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (op > 1 || out.length < in.length) {
    Napi::RangeError::New(env, "unary: unknown op, or out shorter than in").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::unary(op, in.data, static_cast<int64_t>(in.length), static_cast<float>(info[2].As<Napi::Number>().DoubleValue()), out.data);
  return env.Undefined();
}

// softmax(rows, cols, in, out): over the last axis.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rows, cols;
  F32 in, out;
  if (info.Length() != 4 || !get_dim(env, info[0], "rows", &rows) || !get_dim(env, info[1], "cols", &cols) || !get_f32(env, info[2], "in", &in) ||
      !get_f32(env, info[3], "out", &out)) {
    return env.Undefined();
  }
  const size_t n = static_cast<size_t>(rows) * cols;
  if (cols == 0 || in.length < n || out.length < n) {
    Napi::RangeError::New(env, "softmax: no columns, or an array too short for rows x cols").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  aimc::softmax(in.data, rows, cols, out.data);
  return env.Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", aimc::isa_name(aimc::detected_isa()));
  o.Set("threads", aimc::thread_count());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("sgemmBatched", Napi::Function::New(env, SgemmBatched));
  exports.Set("evalExpr", Napi::Function::New(env, EvalExpr));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("softmaxXent", Napi::Function::New(env, SoftmaxXent));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("setZigguratTables", Napi::Function::New(env, SetZigguratTables));
  exports.Set("fillNormal", Napi::Function::New(env, Fill<true>));
  exports.Set("fillUniform", Napi::Function::New(env, Fill<false>));
  exports.Set("analogForward", Napi::Function::New(env, AnalogForward));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("irDrop", Napi::Function::New(env, IrDrop));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  return exports;
}

}  // namespace

NODE_API_MODULE(aimc_native, Init)
