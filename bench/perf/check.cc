#include "perf/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "perf/codec.hpp"

namespace colossus::perf {

namespace {

// dst[i] = table[(phase + i) % period], element-wise, by whole runs.
void fill_periodic(unsigned char* dst, std::size_t count, std::size_t elem,
                   const std::vector<unsigned char>& table, std::size_t phase) {
  while (count > 0) {
    std::size_t run = std::min(count, kPatternPeriod - phase);
    std::memcpy(dst, table.data() + phase * elem, run * elem);
    dst += run * elem;
    count -= run;
    phase = 0;
  }
}

}  // namespace

RankCheck::RankCheck(const Collective& coll, DataType type, ReduceOp op, int rank, int nranks,
                     int root)
    : coll_(coll),
      type_(type),
      op_(op),
      rank_(rank),
      nranks_(nranks),
      root_(root),
      elem_(dtype_size(type)) {}

void RankCheck::prepare(const CallBuffers& b, const Counts& c, uint64_t seed) {
  pattern_.emplace(type_, op_, nranks_, seed);
  // Poison first, then the input: in place, the input lies inside the
  // poisoned region (a rank's block of an allgather, the whole send of a
  // reduce_scatter).
  fill_periodic(b.scratch, b.scratch_bytes / elem_, elem_, poison_table(), 0);
  if (coll_.has_input(rank_, root_)) {
    // The send pointer is const for the call; the harness owns the memory.
    auto* send = const_cast<unsigned char*>(b.send);
    fill_periodic(send, c.send, elem_, pattern_->input_table(rank_), 0);
  }
}

std::vector<unsigned char> RankCheck::poison_table() const {
  std::vector<unsigned char> table(kPatternPeriod * elem_);
  for (std::size_t p = 0; p < kPatternPeriod; ++p)
    encode(type_, Pattern::poison(type_), &table[p * elem_]);
  return table;
}

RankCheck::Expected RankCheck::from_table(std::vector<unsigned char> table) const {
  Expected e;
  e.value.resize(kPatternPeriod);
  for (std::size_t p = 0; p < kPatternPeriod; ++p) e.value[p] = decode(type_, &table[p * elem_]);
  e.encoded = std::move(table);
  return e;
}

int64_t RankCheck::verify(const CallBuffers& b, const Counts& c, bool in_place) const {
  int64_t wrong = 0;
  std::optional<Expected> reduced;
  for (const Expect& x : coll_.expect(c, rank_, nranks_, root_, in_place)) {
    const unsigned char* got = b.recv + x.offset * elem_;
    switch (x.kind) {
      case Expect::Kind::Reduced: {
        if (!reduced) {
          Pattern::Reduced r = pattern_->reduced_table();
          reduced = Expected{std::move(r.encoded), std::move(r.value), r.tolerance};
        }
        wrong += count_wrong(got, x.count, *reduced, x.phase);
        break;
      }
      case Expect::Kind::Input:
        wrong += count_wrong(got, x.count, from_table(pattern_->input_table(x.rank)), x.phase);
        break;
      case Expect::Kind::Poison:
        wrong += count_wrong(got, x.count, from_table(poison_table()), 0);
        break;
    }
  }
  return wrong;
}

int64_t RankCheck::count_wrong(const unsigned char* got, std::size_t count, const Expected& e,
                               std::size_t phase) const {
  int64_t wrong = 0;
  while (count > 0) {
    std::size_t run = std::min(count, kPatternPeriod - phase);
    if (std::memcmp(got, e.encoded.data() + phase * elem_, run * elem_) != 0) {
      for (std::size_t i = 0; i < run; ++i) {
        double v = decode(type_, got + i * elem_);
        double want = e.value[phase + i];
        // Written so that a NaN result is never within tolerance.
        if (!(std::fabs(v - want) <= e.tolerance)) ++wrong;
      }
    }
    got += run * elem_;
    count -= run;
    phase = 0;
  }
  return wrong;
}

}  // namespace colossus::perf
