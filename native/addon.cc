// Node-API surface of aimc's native kernels. Arrays are Float32Array views (typically of the
// tfjs wasm heap); their memory is used in place, never copied.
#include <napi.h>

#include "sgemm.h"

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
  return exports;
}

}  // namespace

NODE_API_MODULE(aimc_native, Init)
