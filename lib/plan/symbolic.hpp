// symbolic.hpp: the values the plan verifier computes with instead of data.
//
// A symbolic Value stands for a contiguous range of elements that all have
// the same history: element at position p holds the reduction, over the
// ranks in `ranks`, of input element p + shift of each of those ranks (input
// = the rank's send buffer), divided once by nranks if `finalized`. Because
// the source index is affine in the position, a whole chunk of a million
// elements is one Value, and the verifier's cost is per interval, not per
// element.
//
// Runs are ordered, non-overlapping [begin,end) ranges with a Value each; a
// message and the result of reading a slice are Runs relative to the slice
// start. IntervalMap is one buffer's memory: absolute positions, gaps are
// unwritten elements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "plan/rank_set.hpp"

namespace colossus::plan {

struct Value {
  RankSet ranks;           // whose inputs are reduced into the element
  int64_t shift = 0;       // the element at position p derives from input element p + shift
  bool finalized = false;  // the op's finalization (Avg: / nranks) has been applied
  bool operator==(const Value&) const = default;
};

struct Run {
  std::size_t begin = 0, end = 0;
  Value value;
};
using Runs = std::vector<Run>;

// Appends [begin,end) = v, merging with the last run when the two continue
// each other (adjacent and equal, which with an affine shift means the same
// mapping), so equal histories never fragment.
void append(Runs& runs, std::size_t begin, std::size_t end, const Value& v);

// "ranks {0-3} input[96,128)" for a run's values, positions relative to the slice.
std::string describe(const Run& r);

// One operand of a reduction. Its name ("the message from rank 2", "src
// send[96,+32)") is only built for an error message, off the hot path.
struct Operand {
  const Runs* runs;
  std::function<std::string()> name;
};

// out = a (+) b element-wise (both cover the same length). Fails, returning a
// message, when the rank sets overlap (a rank counted twice), when the two
// hold different input elements at the same position (misaligned), or when
// either is already finalized (finalization must come after the last
// reduction). Returns "" on success.
std::string reduce(const Operand& a, const Operand& b, Runs* out);

// Marks every run finalized. Fails when a run is already finalized or does not
// yet hold all `nranks` ranks (dividing a partial reduction is wrong for
// integer Avg and means the plan finalizes in the wrong place).
std::string finalize(Runs& runs, int nranks);

class IntervalMap {
 public:
  struct Gap {
    std::size_t begin = 0, end = 0;  // absolute, the first unwritten range found
  };

  // Values of [offset, offset+count) relative to offset. Returns false and
  // fills `gap` when part of the range was never written.
  bool read(std::size_t offset, std::size_t count, Runs* out, Gap* gap) const;
  // Whether any of [offset, offset+count) was written; fills `first` (absolute)
  // with the first written range found. (An alltoallv's gaps between blocks
  // must stay untouched.)
  bool written(std::size_t offset, std::size_t count, Gap* first) const;
  // Stores `runs` (relative, covering [0,count)) at [offset, offset+count).
  void write(std::size_t offset, const Runs& runs);
  std::size_t num_intervals() const { return map_.size(); }

 private:
  struct Entry {
    std::size_t end = 0;
    Value value;  // shift relative to absolute positions
  };
  using Map = std::map<std::size_t, Entry>;
  // Adds [begin,end) = v just before `next`, extending the previous entry
  // instead when v continues it.
  void place(Map::iterator next, std::size_t begin, std::size_t end, const Value& v);

  Map map_;  // begin -> [begin, end) = value
};

}  // namespace colossus::plan
