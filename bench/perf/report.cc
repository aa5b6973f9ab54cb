#include "perf/report.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace colossus::perf {

void Report::preamble(const PerfOptions& o, const std::vector<std::string>& device_lines) const {
  bool factor = o.step_factor > 1;
  std::printf(
      "# nThread %d nGpus %d minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d "
      "agg iters: %d validation: %d graph: %d\n",
      o.nthreads, o.ngpus, o.min_bytes, o.max_bytes, factor ? o.step_factor : o.step_bytes,
      factor ? "factor" : "bytes", o.warmup_iters, o.iters, o.agg_iters, o.check, o.graph_launches);
  if (o.blocking)
    std::printf("# Blocking Enabled: wait for completion and barrier after each collective \n");
  if (o.parallel_init)
    std::printf("# Parallel Init Enabled: threads call into NcclInitRank concurrently \n");
  std::printf("#\n# Using devices\n");
  for (const auto& line : device_lines) std::printf("%s\n", line.c_str());
  std::printf("#\n");
}

std::string Report::device_line(int rank, int group, int device, const std::string& memory) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  char line[512];
  std::snprintf(line, sizeof line, "#  Rank %2d Group %2d Pid %6d on %10s device %2d %s", rank,
                group, static_cast<int>(getpid()), host, device, memory.c_str());
  return line;
}

void Report::table_header(const char* no_in_place) const {
  if (no_in_place) {
    std::printf("# %s has no in-place form: out-of-place only, the in-place columns read N/A\n",
                no_in_place);
  }
  std::printf(
      "# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place          "
      "\n",
      "", "", "", "", "");
  std::printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s  %6s %6s\n", "size",
              "count", "type", "redop", "root", time_label_, "algbw", "busbw", "#wrong",
              time_label_, "algbw", "busbw", "#wrong");
  std::printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %5s  %7s  %6s  %6s  %5s\n", "(B)",
              "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)",
              "");
}

void Report::row_start(std::size_t bytes, std::size_t count, const char* type, const char* op,
                       int root) const {
  std::printf("%12zu  %12zu  %8s  %6s  %6i", bytes, count, type, op, root);
}

void Report::result(double seconds, double algbw, double busbw, int64_t wrong) {
  // nccl-tests' precision steps: keep the column 7 wide at every scale.
  double us = seconds * 1e6;
  char time[32];
  if (us >= 10000.0) {
    std::snprintf(time, sizeof time, "%7.0f", us);
  } else if (us >= 100.0) {
    std::snprintf(time, sizeof time, "%7.1f", us);
  } else {
    std::snprintf(time, sizeof time, "%7.2f", us);
  }
  if (wrong < 0) {
    std::printf("  %7s  %6.2f  %6.2f  %5s", time, algbw, busbw, "N/A");
  } else {
    std::printf("  %7s  %6.2f  %6.2f  %5lld", time, algbw, busbw, static_cast<long long>(wrong));
  }
  busbw_sum_ += busbw;
  ++busbw_count_;
}

void Report::not_measured() const {
  std::printf("  %7s  %6s  %6s  %5s", "N/A", "N/A", "N/A", "N/A");
}

void Report::row_end() const {
  std::printf("\n");
  std::fflush(stdout);
}

bool Report::summary(int64_t error_count) const {
  const char* env = std::getenv("NCCL_TESTS_MIN_BW");
  double min_bw = env ? std::atof(env) : -1;
  double avg = busbw_count_ ? busbw_sum_ / static_cast<double>(busbw_count_) : 0;
  bool bw_failed = env && avg < min_bw * 0.9;
  std::printf("# Out of bounds values : %lld %s\n", static_cast<long long>(error_count),
              error_count ? "FAILED" : "OK");
  std::printf("# Avg bus bandwidth    : %g %s\n", avg, env ? (bw_failed ? "FAILED" : "OK") : "");
  std::printf("#\n");
  std::fflush(stdout);
  return error_count == 0 && !bw_failed;
}

}  // namespace colossus::perf
