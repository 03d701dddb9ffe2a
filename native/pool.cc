// Chunks are claimed through one 64-bit atomic holding (job generation, next chunk), so a
// worker that wakes late can never claim a chunk of a job that has already finished, and
// the caller never waits for a worker that has not started: it just runs more chunks.
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AIMC_PAUSE() _mm_pause()
#else
#define AIMC_PAUSE() std::this_thread::yield()
#endif

namespace aimc {

namespace {

// Set while a thread runs pool work: a kernel called from inside a task (e.g. sgemm in a
// parallel loop) must not wait for the pool it is already part of.
thread_local bool in_task = false;

using Clock = std::chrono::steady_clock;

class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    for (int i = 1; i < n_; i++) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_.store(true);
      state_.fetch_add(uint64_t{1} << 32);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return n_; }

  void run(int n, const std::function<void(int)>& fn, bool wake) {
    if (n <= 0) return;
    // Nested calls and concurrent callers (other Node worker threads using the addon)
    // compute on their own thread instead of queueing behind the pool's current owner.
    const bool nobody_awake = !wake && sleepers_.load() >= n_ - 1;
    if (n == 1 || n_ == 1 || in_task || nobody_awake || !owner_.try_lock()) {
      const bool outer = in_task;
      in_task = true;
      for (int i = 0; i < n; i++) fn(i);
      in_task = outer;
      return;
    }
    fn_.store(&fn, std::memory_order_relaxed);
    total_.store(static_cast<uint32_t>(n), std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    uint32_t gen;
    {
      // Under the mutex so that a worker between its predicate check and its sleep cannot
      // miss the new generation.
      std::lock_guard<std::mutex> l(m_);
      gen = static_cast<uint32_t>(state_.load(std::memory_order_relaxed) >> 32) + 1;
      state_.store(uint64_t{gen} << 32, std::memory_order_release);
    }
    if (wake && sleepers_.load() > 0) cv_.notify_all();
    in_task = true;
    claim(gen);
    in_task = false;
    // All chunks are claimed; wait for the ones still running elsewhere. Yield after a
    // while: on a busy machine that worker may be waiting for this very CPU.
    const auto t0 = Clock::now();
    for (int spin = 0; done_.load(std::memory_order_acquire) != n; spin++) {
      AIMC_PAUSE();
      if ((spin & 63) == 63 && Clock::now() - t0 > std::chrono::microseconds(50)) std::this_thread::yield();
    }
    owner_.unlock();
  }

 private:
  // Run chunks of job `gen` until none is left or a newer job replaced it.
  void claim(uint32_t gen) {
    for (;;) {
      uint64_t s = state_.load(std::memory_order_acquire);
      if (static_cast<uint32_t>(s >> 32) != gen) return;
      // total_ and fn_ may already belong to a newer job when read here; the CAS succeeds
      // only while job `gen` still has unclaimed chunks, and until those finish the caller
      // cannot have started another job, so then they were this job's values.
      const uint32_t i = static_cast<uint32_t>(s);
      const uint32_t total = total_.load(std::memory_order_relaxed);
      const std::function<void(int)>* fn = fn_.load(std::memory_order_relaxed);
      if (i >= total) return;
      if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
      (*fn)(static_cast<int>(i));
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  uint32_t generation() const { return static_cast<uint32_t>(state_.load(std::memory_order_acquire) >> 32); }

  void loop() {
    uint32_t seen = 0;
    for (;;) {
      uint32_t gen = generation();
      if (gen == seen) {
        // Spin before sleeping: a futex wake-up costs tens of microseconds, and a training
        // step issues hundreds of short parallel regions back to back.
        const auto t0 = Clock::now();
        for (int spin = 0; gen == seen; spin++) {
          AIMC_PAUSE();
          gen = generation();
          if ((spin & 63) == 63 && Clock::now() - t0 > std::chrono::microseconds(200)) break;
        }
        if (gen == seen) {
          std::unique_lock<std::mutex> l(m_);
          sleepers_.fetch_add(1);
          cv_.wait(l, [&] { return generation() != seen; });
          sleepers_.fetch_sub(1);
          gen = generation();
        }
      }
      if (stop_.load()) return;
      seen = gen;
      in_task = true;
      claim(gen);
      in_task = false;
    }
  }

  int n_;
  std::vector<std::thread> workers_;
  std::mutex m_, owner_;
  std::condition_variable cv_;
  std::atomic<uint64_t> state_{0};  // (job generation << 32) | next unclaimed chunk
  std::atomic<uint32_t> total_{0};
  std::atomic<const std::function<void(int)>*> fn_{nullptr};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
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

}  // namespace

int thread_count() { return pool().size(); }

void parallel_for(int n, const std::function<void(int)>& fn, bool wake) { pool().run(n, fn, wake); }

void parallel(const std::function<void(int, int)>& fn) {
  const int T = pool().size();
  pool().run(T, [&](int t) { fn(t, T); }, true);
}

}  // namespace aimc
