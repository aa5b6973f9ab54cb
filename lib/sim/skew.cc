#include "sim/skew.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "colossus/error.hpp"

namespace colossus::sim {

namespace {

// splitmix64: a well-mixed 64-bit hash, the seed's stream of draws.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from 53 bits of the hash.
double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

}  // namespace

SkewedCounts::SkewedCounts(int nranks, std::size_t mean, const Skew& skew)
    : n_(nranks), mean_(mean), skew_(skew) {
  if (nranks < 1)
    throw Error(ErrorCode::InvalidArgument,
                "skew: nranks must be >= 1, got " + std::to_string(nranks));
  if (!(skew.zipf >= 0) || !std::isfinite(skew.zipf))
    throw Error(ErrorCode::InvalidArgument,
                "skew: zipf must be >= 0, got " + std::to_string(skew.zipf));
  if (!(skew.jitter >= 0 && skew.jitter < 1))
    throw Error(ErrorCode::InvalidArgument,
                "skew: jitter must be in [0, 1), got " + std::to_string(skew.jitter));
  const auto n = static_cast<std::size_t>(nranks);
  // pos: a seeded Fisher-Yates shuffle of the ranks; pos[j] = j's popularity rank.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::uint64_t state = mix(skew.seed);
  for (std::size_t i = n; i > 1; --i) {
    state = mix(state);
    std::swap(order[i - 1], order[static_cast<std::size_t>(state % i)]);
  }
  weight_.assign(n, 0.0);
  double sum = 0;
  for (std::size_t p = 0; p < n; ++p) {
    const double w = std::pow(1.0 + static_cast<double>(p), -skew.zipf);
    weight_[static_cast<std::size_t>(order[p])] = w;
    sum += w;
  }
  for (double& w : weight_) w *= static_cast<double>(n) / sum;
}

std::size_t SkewedCounts::count(int from, int to) const {
  double u = 1;
  if (skew_.jitter > 0) {
    const std::uint64_t h = mix(mix(skew_.seed ^ 0x5DEECE66Dull) ^
                                (std::uint64_t(std::uint32_t(from)) << 32 | std::uint32_t(to)));
    u = 1 + skew_.jitter * (2 * unit(h) - 1);
  }
  return static_cast<std::size_t>(
      std::llround(static_cast<double>(mean_) * weight_[static_cast<std::size_t>(to)] * u));
}

std::string SkewedCounts::describe() const {
  const auto hot = std::max_element(weight_.begin(), weight_.end());
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "zipf %g, jitter %g, seed %llu: hottest rank %d receives %.2fx the mean",
                skew_.zipf, skew_.jitter, static_cast<unsigned long long>(skew_.seed),
                static_cast<int>(hot - weight_.begin()), *hot);
  return buf;
}

}  // namespace colossus::sim
