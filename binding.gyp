{
  "targets": [
    {
      "target_name": "aimc_native",
      "sources": ["native/addon.cc", "native/sgemm.cc", "native/random.cc", "native/analog.cc", "native/expr.cc", "native/tensor_ops.cc", "native/ir_drop.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
    }
  ]
}
