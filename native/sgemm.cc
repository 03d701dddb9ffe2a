// Blocked SGEMM: pack op(A) into 6-row panels and op(B) into 16-column panels (packing
// absorbs the transposes), then a 6x16 register-tile micro-kernel (AVX2+FMA when the CPU
// has it, selected at run time; portable C++ otherwise). Work is split over a persistent
// thread pool by column panels (or row panels when N is small).
#include "sgemm.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aimc {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;
constexpr int KC = 256;
constexpr int MC = 96;  // multiple of MR

// ---- thread pool -------------------------------------------------------------------

class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    for (int i = 1; i < n_; i++) workers_.emplace_back([this, i] { loop(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return n_; }
  // Run fn(i) for i in [0, n_) — index 0 on the calling thread — and wait for all.
  // Workers spin briefly before sleeping: a condition-variable wake-up costs ~50 µs, and a
  // training step or a tiled MVM issues hundreds of short parallel regions.
  void run(const std::function<void(int)>& fn) {
    if (n_ == 1) {
      fn(0);
      return;
    }
    std::unique_lock<std::mutex> run_lock(run_m_);  // one parallel region at a time
    fn_ = &fn;
    pending_.store(n_ - 1);
    {
      std::lock_guard<std::mutex> l(m_);
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    fn(0);
    while (pending_.load() != 0) {
      _mm_pause();
    }
    fn_ = nullptr;
  }

 private:
  void loop(int i) {
    unsigned long seen = 0;
    for (;;) {
      bool ready = false;
      for (int spin = 0; spin < 20000 && !ready; spin++) {
        ready = gen_.load() != seen;
        if (!ready) _mm_pause();
      }
      if (!ready) {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return gen_.load() != seen; });
      }
      seen = gen_.load();
      if (stop_) return;
      (*fn_)(i);
      pending_.fetch_sub(1);
    }
  }
  int n_;
  std::vector<std::thread> workers_;
  std::mutex m_, run_m_;
  std::condition_variable cv_;
  const std::function<void(int)>* fn_ = nullptr;
  std::atomic<int> pending_{0};
  std::atomic<unsigned long> gen_{0};
  bool stop_ = false;
};

int env_threads() {
  const char* s = std::getenv("AIMC_THREADS");
  int n = s ? std::atoi(s) : 0;
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, std::min(n, 64));
}

Pool& pool() {
  static Pool p(env_threads());
  return p;
}

// ---- packing ------------------------------------------------------------------------

// op(A)[i][k] for i in [i0, i0+mc), k in [k0, k0+kc) into MR-row panels, zero-padded.
void pack_a(const float* A, int lda, bool trans, int i0, int mc, int k0, int kc, float* out) {
  for (int ip = 0; ip < mc; ip += MR) {
    const int rows = std::min(MR, mc - ip);
    for (int k = 0; k < kc; k++) {
      for (int r = 0; r < MR; r++) {
        float v = 0.f;
        if (r < rows) {
          const int i = i0 + ip + r;
          v = trans ? A[static_cast<size_t>(k0 + k) * lda + i] : A[static_cast<size_t>(i) * lda + k0 + k];
        }
        *out++ = v;
      }
    }
  }
}

// op(B)[k][j] for k in [k0, k0+kc), j in [j0, j0+nc) into NR-column panels, zero-padded.
void pack_b(const float* B, int ldb, bool trans, int k0, int kc, int j0, int nc, float* out) {
  for (int jp = 0; jp < nc; jp += NR) {
    const int cols = std::min(NR, nc - jp);
    for (int k = 0; k < kc; k++) {
      if (!trans && cols == NR) {
        std::memcpy(out, B + static_cast<size_t>(k0 + k) * ldb + j0 + jp, NR * sizeof(float));
        out += NR;
        continue;
      }
      for (int c = 0; c < NR; c++) {
        float v = 0.f;
        if (c < cols) {
          const int j = j0 + jp + c;
          v = trans ? B[static_cast<size_t>(j) * ldb + k0 + k] : B[static_cast<size_t>(k0 + k) * ldb + j];
        }
        *out++ = v;
      }
    }
  }
}

// ---- micro-kernels: acc[MR][NR] = sum_k a[k][r] * b[k][c] ---------------------------

void kernel_scalar(int kc, const float* a, const float* b, float* acc) {
  float t[MR * NR] = {0};
  for (int k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const float ar = a[k * MR + r];
      for (int c = 0; c < NR; c++) t[r * NR + c] += ar * b[k * NR + c];
    }
  }
  std::memcpy(acc, t, sizeof(t));
}

__attribute__((target("avx2,fma"))) void kernel_avx2(int kc, const float* a, const float* b, float* acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
    a += MR;
    b += NR;
  }
  _mm256_storeu_ps(acc + 0, c00); _mm256_storeu_ps(acc + 8, c01);
  _mm256_storeu_ps(acc + 16, c10); _mm256_storeu_ps(acc + 24, c11);
  _mm256_storeu_ps(acc + 32, c20); _mm256_storeu_ps(acc + 40, c21);
  _mm256_storeu_ps(acc + 48, c30); _mm256_storeu_ps(acc + 56, c31);
  _mm256_storeu_ps(acc + 64, c40); _mm256_storeu_ps(acc + 72, c41);
  _mm256_storeu_ps(acc + 80, c50); _mm256_storeu_ps(acc + 88, c51);
}

using Kernel = void (*)(int, const float*, const float*, float*);

Kernel select_kernel() { return detected_isa() == Isa::Avx2 ? kernel_avx2 : kernel_scalar; }

// C[i0.., j0..] (+)= acc for the valid rows x cols of one tile.
inline void store(const float* acc, float* C, int ldc, int rows, int cols, bool add) {
  for (int r = 0; r < rows; r++) {
    float* dst = C + static_cast<size_t>(r) * ldc;
    const float* src = acc + r * NR;
    if (add) {
      for (int c = 0; c < cols; c++) dst[c] += src[c];
    } else {
      std::memcpy(dst, src, cols * sizeof(float));
    }
  }
}

// One thread's share: rows [m0, m1) x columns [n0, n1) of C, all of K.
void gemm_block(int m0, int m1, int n0, int n1, int K, const float* A, int lda, bool transA, const float* B, int ldb, bool transB,
                float* C, int ldc, bool beta, Kernel kernel) {
  if (m0 >= m1 || n0 >= n1) return;
  const int nc = n1 - n0;
  const int ncp = (nc + NR - 1) / NR * NR;
  // Per-thread packing buffers, reused across calls (batched attention makes thousands of
  // small calls per training step; allocating per call cost as much as the arithmetic).
  thread_local std::vector<float> bp, ap;
  if (bp.size() < static_cast<size_t>(KC) * ncp) bp.resize(static_cast<size_t>(KC) * ncp);
  if (ap.size() < static_cast<size_t>(KC) * MC) ap.resize(static_cast<size_t>(KC) * MC);
  alignas(32) float acc[MR * NR];
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    const bool add = beta || k0 > 0;
    pack_b(B, ldb, transB, k0, kc, n0, nc, bp.data());
    for (int i0 = m0; i0 < m1; i0 += MC) {
      const int mc = std::min(MC, m1 - i0);
      pack_a(A, lda, transA, i0, mc, k0, kc, ap.data());
      for (int jp = 0; jp < nc; jp += NR) {
        const float* bpanel = bp.data() + static_cast<size_t>(jp) * kc;
        const int cols = std::min(NR, nc - jp);
        for (int ip = 0; ip < mc; ip += MR) {
          kernel(kc, ap.data() + static_cast<size_t>(ip) * kc, bpanel, acc);
          store(acc, C + static_cast<size_t>(i0 + ip) * ldc + n0 + jp, ldc, std::min(MR, mc - ip), cols, add);
        }
      }
    }
  }
  if (K == 0 && !beta) {
    for (int i = m0; i < m1; i++) std::memset(C + static_cast<size_t>(i) * ldc + n0, 0, nc * sizeof(float));
  }
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? Isa::Avx2 : Isa::Scalar;
  return isa;
}

const char* isa_name(Isa isa) { return isa == Isa::Avx2 ? "avx2" : "scalar"; }

int thread_count() { return pool().size(); }

void parallel(const std::function<void(int, int)>& fn) {
  const int T = pool().size();
  pool().run([&](int t) { fn(t, T); });
}

void sgemm(int M, int N, int K, const float* A, const float* B, float* C, bool transA, bool transB, bool beta) {
  if (M <= 0 || N <= 0) return;
  const int lda = transA ? M : K;
  const int ldb = transB ? K : N;
  const Kernel kernel = select_kernel();
  const double flops = 2.0 * M * N * K;
  const int T = flops < 2e6 ? 1 : pool().size();
  if (T == 1) {
    gemm_block(0, M, 0, N, K, A, lda, transA, B, ldb, transB, C, N, beta, kernel);
    return;
  }
  // Split along whichever dimension has more register-tile panels; boundaries fall on
  // panel edges so every C element is computed by one thread in the same order.
  const int npan = (N + NR - 1) / NR;
  const int mpan = (M + MR - 1) / MR;
  pool().run([&](int t) {
    if (npan >= mpan) {
      const int p0 = npan * t / T, p1 = npan * (t + 1) / T;
      gemm_block(0, M, std::min(N, p0 * NR), std::min(N, p1 * NR), K, A, lda, transA, B, ldb, transB, C, N, beta, kernel);
    } else {
      const int p0 = mpan * t / T, p1 = mpan * (t + 1) / T;
      gemm_block(std::min(M, p0 * MR), std::min(M, p1 * MR), 0, N, K, A, lda, transA, B, ldb, transB, C, N, beta, kernel);
    }
  });
}

void sgemm_batched(int batch, int M, int N, int K, const float* A, size_t strideA, const float* B, size_t strideB, float* C, bool transA,
                   bool transB) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const int lda = transA ? M : K;
  const int ldb = transB ? K : N;
  const Kernel kernel = select_kernel();
  const size_t mn = static_cast<size_t>(M) * N;
  const int T = (2.0 * M * N * K * batch < 2e6 || batch == 1) ? 1 : pool().size();
  auto range = [&](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      gemm_block(0, M, 0, N, K, A + strideA * b, lda, transA, B + strideB * b, ldb, transB, C + mn * b, N, false, kernel);
    }
  };
  if (T == 1) {
    // A single large product still deserves the pool.
    if (batch == 1) sgemm(M, N, K, A, B, C, transA, transB, false);
    else range(0, batch);
    return;
  }
  pool().run([&](int t) { range(batch * t / T, batch * (t + 1) / T); });
}

}  // namespace aimc
