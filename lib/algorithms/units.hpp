// units.hpp: dealing a message space to channels, for the algorithms whose
// messages aggregate the blocks of several ranks (hierarchical all-to-all,
// binomial-tree gather and scatter).
//
// Such an algorithm orders the blocks of the call into one "message space"
// [0, total) that every rank of the call sees alike; each transfer is a range
// of it. The space is cut into units, dealt round robin: unit t belongs to
// channel t % nch. A unit is at most one chunk, so no step moves more; a
// space of at most nch chunks is cut into nch near-equal units, one per
// channel. So a small transfer of many small blocks is a single message per
// channel it touches (not one per block), and a large one is spread over all
// channels in chunks whatever its block size. Channels then own disjoint
// element ranges of every buffer the space maps to, and both ends of a
// transfer cut it at the same unit boundaries (and at the algorithm's own cut
// points, where one end's buffer is not contiguous), so their messages match.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "algorithms/partition.hpp"

namespace colossus::algorithms {

class Units {
 public:
  Units(std::size_t total, int nch, std::size_t chunk, std::size_t align)
      : nch_(static_cast<std::size_t>(std::max(1, nch))),
        unit_(std::max<std::size_t>(1, std::min(chunk, max_part(total, std::max(1, nch), align)))) {
  }

  // Calls f(begin, end) for each piece of [lo, hi) on channel c, ascending:
  // the range cut at unit boundaries and at the points of `cuts` (ascending).
  template <class F>
  void each(std::size_t lo, std::size_t hi, int c, const std::vector<std::size_t>& cuts,
            F&& f) const {
    if (lo >= hi) return;
    const auto uc = static_cast<std::size_t>(c);
    std::size_t t = lo / unit_;
    t += (uc + nch_ - t % nch_) % nch_;  // channel c's first unit from lo's unit on
    for (; t * unit_ < hi; t += nch_) {
      std::size_t b = std::max(lo, t * unit_);
      const std::size_t e = std::min(hi, (t + 1) * unit_);
      for (auto it = std::upper_bound(cuts.begin(), cuts.end(), b); it != cuts.end() && *it < e;
           ++it) {
        f(b, *it);
        b = *it;
      }
      f(b, e);
    }
  }

 private:
  std::size_t nch_, unit_;
};

}  // namespace colossus::algorithms
