// Persistent thread pool shared by every native kernel of the addon.
#pragma once
#include <functional>

namespace aimc {

/** Threads of the pool, caller included (hardware_concurrency, or AIMC_THREADS, 1..64). */
int thread_count();

/**
 * Run fn(i) once for every i in [0, n) and return when all are done. The calling thread
 * takes part; chunks are claimed dynamically, so a pool thread that the OS does not
 * schedule in time simply gets fewer (or none). Nested calls, and calls made while another
 * thread owns the pool, run inline on the calling thread. With wake = false, sleeping pool
 * threads are left asleep (only those still spinning after recent work join in): waking
 * one costs tens of microseconds, more than a small job gains from it.
 */
void parallel_for(int n, const std::function<void(int)>& fn, bool wake = true);

/** fn(t, T) for every t < T = thread_count() (fn splits its own work into T parts). */
void parallel(const std::function<void(int, int)>& fn);

}  // namespace aimc
