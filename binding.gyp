{
  # The micro-kernels for AVX2+FMA and AVX-512 are separate static libraries so that only
  # they are compiled with those -m flags; the addon calls them after a run-time CPU check.
  "variables": {
    "aimc_x86%": "<!(node -p \"['x64','ia32'].includes(process.arch) ? 1 : 0\")"
  },
  "target_defaults": {
    "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fPIC"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
    "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
  },
  "targets": [
    {
      "target_name": "aimc_native",
      "sources": [
        "native/addon.cc",
        "native/pool.cc",
        "native/sgemm.cc",
        "native/random.cc",
        "native/analog.cc",
        "native/expr.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "conditions": [
        ["aimc_x86==1", {
          "defines": ["AIMC_X86_KERNELS"],
          "dependencies": ["aimc_kernels_avx2", "aimc_kernels_avx512"]
        }]
      ]
    }
  ],
  "conditions": [
    ["aimc_x86==1", {
      "targets": [
        {
          "target_name": "aimc_kernels_avx2",
          "type": "static_library",
          "sources": ["native/sgemm_avx2.cc"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] }
        },
        {
          "target_name": "aimc_kernels_avx512",
          "type": "static_library",
          "sources": ["native/sgemm_avx512.cc"],
          "cflags_cc": ["-mavx512f", "-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx2", "-mfma"] }
        }
      ]
    }]
  ]
}
