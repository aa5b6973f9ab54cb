// skew_test.cc: SkewedCounts, the alltoallv counts of an MoE-like dispatch
// (sim/skew.hpp): even when it should be, reproducible from its seed, hot
// where the Zipf weights say, noisy within its jitter, and refusing nonsense.
#include "sim/skew.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "catch.hpp"
#include "colossus/error.hpp"

using colossus::sim::Skew;
using colossus::sim::SkewedCounts;

TEST_CASE("skew: zipf 0 and no jitter is the even alltoall") {
  for (const int n : {1, 7, 64}) {
    const SkewedCounts c(n, 1000, {});
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) CHECK(c.count(i, j) == 1000);
  }
}

TEST_CASE("skew: weights average 1 and follow a Zipf law over a seeded order") {
  const int n = 512;
  for (const double zipf : {0.5, 1.0, 2.0}) {
    const SkewedCounts c(n, 4096, {zipf, 0, 3});
    std::vector<double> w;
    double sum = 0;
    for (int j = 0; j < n; ++j) w.push_back(c.weight(j)), sum += c.weight(j);
    CHECK(sum / n == Approx(1.0).epsilon(1e-12));
    std::sort(w.rbegin(), w.rend());
    // The p-th most popular rank holds (1 + p)^-zipf of the hottest's weight.
    for (const int p : {1, 10, 100, 511})
      CHECK(w[static_cast<std::size_t>(p)] / w[0] == Approx(std::pow(1.0 + p, -zipf)));
    // No jitter: every sender sends a destination the same block.
    for (int j = 0; j < n; j += 37) CHECK(c.count(0, j) == c.count(n - 1, j));
  }
}

TEST_CASE("skew: the seed decides which ranks are hot, and nothing else does") {
  const int n = 256;
  auto hottest = [&](std::uint64_t seed) {
    const SkewedCounts c(n, 100, {1.2, 0.2, seed});
    int hot = 0;
    for (int j = 1; j < n; ++j) hot = c.weight(j) > c.weight(hot) ? j : hot;
    return hot;
  };
  CHECK(hottest(5) == hottest(5));
  std::set<int> hot;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) hot.insert(hottest(seed));
  CHECK(hot.size() >= 4);  // 8 seeds of 256 ranks: the hot rank moves
  const SkewedCounts a(n, 100, {1.2, 0.2, 9}), b(n, 100, {1.2, 0.2, 9});
  for (int i = 0; i < n; i += 13)
    for (int j = 0; j < n; j += 7) CHECK(a.count(i, j) == b.count(i, j));
}

TEST_CASE("skew: jitter stays within its band and averages out") {
  const int n = 128;
  const std::size_t mean = 10000;
  const SkewedCounts c(n, mean, {0, 0.4, 21});
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const std::size_t k = c.count(i, j);
      CHECK(k >= 6000);
      CHECK(k <= 14000);
      sum += static_cast<double>(k);
    }
  }
  CHECK(sum / (n * n) == Approx(static_cast<double>(mean)).epsilon(0.01));
  CHECK(c.describe().find("jitter 0.4, seed 21") != std::string::npos);
}

TEST_CASE("skew: out-of-range parameters are refused") {
  CHECK_THROWS_AS(SkewedCounts(0, 1, {}), colossus::Error);
  CHECK_THROWS_AS(SkewedCounts(4, 1, {-1, 0, 1}), colossus::Error);
  CHECK_THROWS_AS(SkewedCounts(4, 1, {0, 1.0, 1}), colossus::Error);
  CHECK_THROWS_AS(SkewedCounts(4, 1, {NAN, 0, 1}), colossus::Error);
}
