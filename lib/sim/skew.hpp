// skew.hpp: uneven all-to-all counts, as a mixture-of-experts dispatch makes them.
//
// In an MoE layer every rank sends its tokens to the ranks holding the
// experts they are routed to; a few popular ("hot") experts receive far more
// than the rest, and no two senders route exactly alike. SkewedCounts models
// both, reproducibly from a seed:
//
//   count(i, j) = round(mean * w(j) * u(i, j))
//
//   - w(j): Zipf popularity of destination j, (1 + pos(j))^-zipf with pos a
//     permutation of the ranks drawn from the seed (which ranks are hot),
//     scaled so that the weights average 1 over the ranks; zipf 0: all alike;
//   - u(i, j): per-pair noise, uniform in [1 - jitter, 1 + jitter] from a
//     hash of (seed, i, j); jitter 0: none.
//
// Each rank's expected send is mean * nranks (the alltoall buffer of a
// `mean`-element block), its receive mean * nranks * w(i): the hot rank's
// receive is the bottleneck the simulator shows. zipf = jitter = 0 is the
// even alltoall exactly. O(nranks) memory; count() is O(1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace colossus::sim {

struct Skew {
  double zipf = 0;    // >= 0
  double jitter = 0;  // in [0, 1)
  std::uint64_t seed = 1;
};

class SkewedCounts {
 public:
  // Throws InvalidArgument on nranks < 1 or a skew out of range.
  SkewedCounts(int nranks, std::size_t mean, const Skew& skew);
  std::size_t count(int from, int to) const;
  // w(j): destination j's share of every sender's buffer, times nranks.
  double weight(int to) const { return weight_[static_cast<std::size_t>(to)]; }
  // "zipf 1.2, jitter 0.3, seed 7: hottest rank 17 receives 9.8x the mean"
  std::string describe() const;

 private:
  int n_;
  std::size_t mean_;
  Skew skew_;
  std::vector<double> weight_;
};

}  // namespace colossus::sim
