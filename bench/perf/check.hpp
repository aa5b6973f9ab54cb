// check.hpp: filling a rank's buffers before a call and counting wrong
// elements after it (the #wrong column).
//
// Inputs and expected outputs are periodic tables (see pattern.hpp), so a
// fill is a few memcpys and a check is a memcmp per period; only a period
// that differs is decoded and compared element by element, with the
// pattern's tolerance, so -0 == +0 and a rounding within bounds is not
// counted, while a NaN always is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "perf/collective.hpp"
#include "perf/pattern.hpp"

namespace colossus::perf {

// The pointers of one call, as the collective sees them.
struct CallBuffers {
  const unsigned char* send;
  unsigned char* recv;
  unsigned char* scratch;     // start of every byte the call may write or read on this rank
  std::size_t scratch_bytes;  // poisoned before the call
};

class RankCheck {
 public:
  RankCheck(const Collective& coll, DataType type, ReduceOp op, int rank, int nranks, int root);

  // Poisons the receive side and writes this rank's input for `seed`.
  void prepare(const CallBuffers& b, const Counts& c, uint64_t seed);
  // Elements of this rank's receive buffer that differ from what the
  // collective should have left there.
  int64_t verify(const CallBuffers& b, const Counts& c, bool in_place) const;

 private:
  struct Expected {
    std::vector<unsigned char> encoded;  // kPatternPeriod elements
    std::vector<double> value;
    double tolerance = 0;
  };
  Expected from_table(std::vector<unsigned char> table) const;
  std::vector<unsigned char> poison_table() const;
  int64_t count_wrong(const unsigned char* got, std::size_t count, const Expected& e,
                      std::size_t phase) const;

  const Collective& coll_;
  DataType type_;
  ReduceOp op_;
  int rank_;
  int nranks_;
  int root_;
  std::size_t elem_;
  std::optional<Pattern> pattern_;
};

}  // namespace colossus::perf
