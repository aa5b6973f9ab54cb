// report.hpp: nccl-tests' output, column for column.
//
// Scripts that parse nccl-tests output (the "# Avg bus bandwidth" line, the
// table's fixed columns) must parse ours unchanged, so the formats below
// are nccl-tests' own. Only the printing process's first thread calls these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "perf/options.hpp"

namespace colossus::perf {

class Report {
 public:
  explicit Report(bool cputime) : time_label_(cputime ? "cputime" : "time") {}

  void preamble(const PerfOptions& o, const std::vector<std::string>& device_lines) const;
  // `no_in_place`: the name of an operation without an in-place form, said
  // above the columns (its in-place columns read N/A); nullptr otherwise.
  void table_header(const char* no_in_place = nullptr) const;
  void row_start(std::size_t bytes, std::size_t count, const char* type, const char* op,
                 int root) const;
  // wrong < 0: not checked (-c 0), printed as N/A.
  void result(double seconds, double algbw, double busbw, int64_t wrong);
  // The in-place columns of an operation that has no in-place form: N/A,
  // and not part of the average bus bandwidth.
  void not_measured() const;
  void row_end() const;
  // Prints the closing lines; returns whether the run passed (no wrong
  // elements, and NCCL_TESTS_MIN_BW met where set).
  bool summary(int64_t error_count) const;

  // "#  Rank  0 Group  0 Pid 123 on host device  0 [cpu] host memory"
  // `memory`: "[cpu] host memory" or the GPU's bus id and name.
  static std::string device_line(int rank, int group, int device, const std::string& memory);

 private:
  const char* time_label_;
  double busbw_sum_ = 0;
  int64_t busbw_count_ = 0;
};

}  // namespace colossus::perf
