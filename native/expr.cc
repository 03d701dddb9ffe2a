#include "expr.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sgemm.h"

namespace aimc {

namespace {
constexpr size_t CHUNK = 512;

enum Op {
  VAR = 0, CONST = 1, ADD = 2, SUB = 3, MUL = 4, DIV = 5, POW = 6, LT = 7, LE = 8, GT = 9, GE = 10, EQ = 11, NE = 12, MIN = 13, MAX = 14,
  NEG = 20, LOG = 21, EXP = 22, SQRT = 23, ABS = 24, SQUARE = 25,
};

void run_chunk(const double* program, int n_ops, const float* const* vars, const size_t* var_len, size_t i0, size_t m, double* stack, float* out) {
  int sp = 0;  // number of slots in use; slot k is stack + k·CHUNK
  for (int pc = 0; pc < n_ops; pc++) {
    const int op = static_cast<int>(program[2 * pc]);
    const double arg = program[2 * pc + 1];
    if (op == VAR) {
      double* dst = stack + static_cast<size_t>(sp++) * CHUNK;
      const int k = static_cast<int>(arg);
      const float* src = vars[k];
      if (var_len[k] == 1) std::fill(dst, dst + m, static_cast<double>(src[0]));
      else for (size_t i = 0; i < m; i++) dst[i] = src[i0 + i];
      continue;
    }
    if (op == CONST) {
      double* dst = stack + static_cast<size_t>(sp++) * CHUNK;
      std::fill(dst, dst + m, arg);
      continue;
    }
    if (op < 20) {
      double* a = stack + static_cast<size_t>(sp - 2) * CHUNK;
      const double* b = a + CHUNK;
      sp--;
      switch (op) {
        case ADD: for (size_t i = 0; i < m; i++) a[i] += b[i]; break;
        case SUB: for (size_t i = 0; i < m; i++) a[i] -= b[i]; break;
        case MUL: for (size_t i = 0; i < m; i++) a[i] *= b[i]; break;
        case DIV: for (size_t i = 0; i < m; i++) a[i] /= b[i]; break;
        case POW: for (size_t i = 0; i < m; i++) a[i] = std::pow(a[i], b[i]); break;
        case LT: for (size_t i = 0; i < m; i++) a[i] = a[i] < b[i]; break;
        case LE: for (size_t i = 0; i < m; i++) a[i] = a[i] <= b[i]; break;
        case GT: for (size_t i = 0; i < m; i++) a[i] = a[i] > b[i]; break;
        case GE: for (size_t i = 0; i < m; i++) a[i] = a[i] >= b[i]; break;
        case EQ: for (size_t i = 0; i < m; i++) a[i] = a[i] == b[i]; break;
        case NE: for (size_t i = 0; i < m; i++) a[i] = a[i] != b[i]; break;
        // NaN-propagating like tf.minimum/maximum.
        case MIN: for (size_t i = 0; i < m; i++) a[i] = (a[i] < b[i] || std::isnan(a[i])) ? a[i] : b[i]; break;
        case MAX: for (size_t i = 0; i < m; i++) a[i] = (a[i] > b[i] || std::isnan(a[i])) ? a[i] : b[i]; break;
        default: break;
      }
      continue;
    }
    double* a = stack + static_cast<size_t>(sp - 1) * CHUNK;
    switch (op) {
      case NEG: for (size_t i = 0; i < m; i++) a[i] = -a[i]; break;
      case LOG: for (size_t i = 0; i < m; i++) a[i] = std::log(a[i]); break;
      case EXP: for (size_t i = 0; i < m; i++) a[i] = std::exp(a[i]); break;
      case SQRT: for (size_t i = 0; i < m; i++) a[i] = std::sqrt(a[i]); break;
      case ABS: for (size_t i = 0; i < m; i++) a[i] = std::fabs(a[i]); break;
      case SQUARE: for (size_t i = 0; i < m; i++) a[i] *= a[i]; break;
      default: break;
    }
  }
  for (size_t i = 0; i < m; i++) out[i0 + i] = static_cast<float>(stack[i]);
}
}  // namespace

void eval_expr(const double* program, int n_ops, int depth, const float* const* vars, const size_t* var_len, int n_vars, float* out,
               size_t n) {
  (void)n_vars;
  const size_t chunks = (n + CHUNK - 1) / CHUNK;
  auto work = [&](size_t c0, size_t c1) {
    std::vector<double> stack(static_cast<size_t>(std::max(depth, 1)) * CHUNK);
    for (size_t c = c0; c < c1; c++) {
      const size_t i0 = c * CHUNK;
      run_chunk(program, n_ops, vars, var_len, i0, std::min(CHUNK, n - i0), stack.data(), out);
    }
  };
  if (chunks < 16) {
    work(0, chunks);
    return;
  }
  parallel([&](int t, int T) { work(chunks * t / T, chunks * (t + 1) / T); });
}

}  // namespace aimc
