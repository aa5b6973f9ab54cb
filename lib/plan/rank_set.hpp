// rank_set.hpp: a set of ranks, the "who contributed" part of a symbolic value.
//
// The verifier copies, compares and unites these for every interval a step
// touches, so the common case (worlds of up to 128 ranks) lives inline with
// no heap allocation; larger worlds spill to a vector. Two sets are only ever
// combined when they belong to the same world (same nranks).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace colossus::plan {

class RankSet {
 public:
  RankSet() = default;
  // The empty set over a world of `nranks` ranks.
  explicit RankSet(int nranks) : nwords_((static_cast<std::size_t>(nranks) + 63) / 64) {
    if (nwords_ > kInlineWords) big_.assign(nwords_, 0);
  }
  static RankSet single(int nranks, int rank) {
    RankSet s(nranks);
    s.insert(rank);
    return s;
  }
  static RankSet all(int nranks) {
    RankSet s(nranks);
    for (int r = 0; r < nranks; ++r) s.insert(r);
    return s;
  }

  void insert(int rank) { words()[rank / 64] |= uint64_t{1} << (rank % 64); }
  bool contains(int rank) const {
    const std::size_t w = static_cast<std::size_t>(rank) / 64;
    return w < nwords_ && ((words()[w] >> (rank % 64)) & 1) != 0;
  }
  bool intersects(const RankSet& o) const {
    for (std::size_t w = 0; w < nwords_; ++w) {
      if ((words()[w] & o.words()[w]) != 0) return true;
    }
    return false;
  }
  RankSet intersection(const RankSet& o) const {
    RankSet s = *this;
    for (std::size_t w = 0; w < nwords_; ++w) s.words()[w] &= o.words()[w];
    return s;
  }
  void unite(const RankSet& o) {
    for (std::size_t w = 0; w < nwords_; ++w) words()[w] |= o.words()[w];
  }
  int size() const {
    int n = 0;
    for (std::size_t w = 0; w < nwords_; ++w) n += std::popcount(words()[w]);
    return n;
  }
  bool operator==(const RankSet& o) const {
    for (std::size_t w = 0; w < nwords_; ++w) {
      if (words()[w] != o.words()[w]) return false;
    }
    return nwords_ == o.nwords_;
  }

  // "{0-3,5}": consecutive ranks collapse so that full sets at n=64 stay short.
  std::string to_string() const {
    std::string out = "{";
    const int limit = static_cast<int>(nwords_ * 64);
    for (int r = 0; r < limit; ++r) {
      if (!contains(r)) continue;
      int last = r;
      while (last + 1 < limit && contains(last + 1)) ++last;
      if (out.size() > 1) out += ',';
      out += std::to_string(r);
      if (last > r) out += (last == r + 1 ? "," : "-") + std::to_string(last);
      r = last;
    }
    return out + "}";
  }

 private:
  static constexpr std::size_t kInlineWords = 2;
  uint64_t* words() { return nwords_ > kInlineWords ? big_.data() : small_.data(); }
  const uint64_t* words() const { return nwords_ > kInlineWords ? big_.data() : small_.data(); }

  std::size_t nwords_ = 0;
  std::array<uint64_t, kInlineWords> small_{};
  std::vector<uint64_t> big_;  // used instead of small_ when the world exceeds 128 ranks
};

}  // namespace colossus::plan
