// symbolic_test.cc: the verifier's building blocks against per-element models.
#include "plan/symbolic.hpp"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace colossus::plan;

namespace {

// What one element holds, spelled out: the reference the interval map must match.
struct Elem {
  std::string ranks;
  int64_t input;
  bool finalized;
  bool operator==(const Elem&) const = default;
};

std::vector<std::optional<Elem>> expand(const Runs& runs, std::size_t n) {
  std::vector<std::optional<Elem>> out(n);
  for (const Run& r : runs) {
    for (std::size_t p = r.begin; p < r.end; ++p) {
      out[p] = Elem{r.value.ranks.to_string(), static_cast<int64_t>(p) + r.value.shift,
                    r.value.finalized};
    }
  }
  return out;
}

}  // namespace

TEST_CASE("RankSet operations and formatting", "[verifier][symbolic]") {
  for (const int n : {3, 64, 65, 200}) {
    RankSet a = RankSet::single(n, 0), b = RankSet::single(n, n - 1);
    CHECK_FALSE(a.intersects(b));
    a.unite(b);
    CHECK(a.size() == 2);
    CHECK(a.contains(n - 1));
    CHECK(a.intersects(b));
    CHECK(a.intersection(b) == b);
    CHECK(RankSet::all(n).size() == n);
  }
  RankSet s(200);
  for (const int r : {0, 1, 2, 3, 5, 7, 8, 150}) s.insert(r);
  CHECK(s.to_string() == "{0-3,5,7,8,150}");
  CHECK(RankSet::all(64).to_string() == "{0-63}");
}

TEST_CASE("IntervalMap matches a per-element model under random writes", "[verifier][symbolic]") {
  constexpr std::size_t kSize = 64;
  constexpr int kRanks = 4;
  std::mt19937 rng(12345);
  auto pick = [&](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 200; ++trial) {
    IntervalMap map;
    std::vector<std::optional<Elem>> model(kSize);
    for (int op = 0; op < 30; ++op) {
      const std::size_t off = pick(0, kSize - 1), count = pick(1, kSize - off);
      // A write made of up to three runs, some continuing each other.
      Runs runs;
      std::size_t pos = 0;
      while (pos < count) {
        const std::size_t end = std::min(count, pos + pick(1, count));
        Value v{RankSet::single(kRanks, static_cast<int>(pick(0, kRanks - 1))),
                static_cast<int64_t>(pick(0, 2)), pick(0, 1) == 1};
        append(runs, pos, end, v);
        pos = end;
      }
      map.write(off, runs);
      const auto written = expand(runs, count);
      // Input indices do not depend on where a value is stored or read from.
      for (std::size_t i = 0; i < count; ++i) model[off + i] = written[i];
      // Read back a random window; it must agree with the model element by element.
      const std::size_t rb = pick(0, kSize - 1), rc = pick(0, kSize - rb);
      Runs got;
      IntervalMap::Gap gap;
      const bool full = map.read(rb, rc, &got, &gap);
      bool model_full = true;
      for (std::size_t i = rb; i < rb + rc; ++i) model_full = model_full && model[i].has_value();
      REQUIRE(full == model_full);
      if (!full) {
        CHECK_FALSE(model[gap.begin].has_value());
        continue;
      }
      const auto seen = expand(got, rc);
      for (std::size_t i = 0; i < rc; ++i) {
        REQUIRE(seen[i].has_value());
        CHECK(*seen[i] == *model[rb + i]);
      }
      // Reads come back coalesced: no two neighbouring runs continue each other.
      for (std::size_t i = 1; i < got.size(); ++i) {
        CHECK_FALSE((got[i - 1].end == got[i].begin && got[i - 1].value == got[i].value));
      }
    }
  }
}

TEST_CASE("reduce and finalize on runs", "[verifier][symbolic]") {
  const int n = 3;
  const Runs a = {{0, 4, {RankSet::single(n, 0), 8, false}}};
  const Runs b = {{0, 2, {RankSet::single(n, 1), 8, false}},
                  {2, 4, {RankSet::single(n, 2), 8, false}}};
  Runs out;
  REQUIRE(reduce({&a, [] { return "a"; }}, {&b, [] { return "b"; }}, &out).empty());
  REQUIRE(out.size() == 2);
  CHECK(out[0].value.ranks.to_string() == "{0,1}");
  CHECK(out[1].value.ranks.to_string() == "{0,2}");
  std::string e = finalize(out, n);
  CHECK(e.find("partial") != std::string::npos);

  Runs full = {{0, 4, {RankSet::all(n), 0, false}}};
  CHECK(finalize(full, n).empty());
  CHECK(finalize(full, n).find("twice") != std::string::npos);

  const Runs shifted = {{0, 4, {RankSet::single(n, 1), 9, false}}};
  e = reduce({&a, [] { return "a"; }}, {&shifted, [] { return "b"; }}, &out);
  CHECK(e.find("misaligned") != std::string::npos);
  CHECK(e.find("a holds input element 8 where b holds input element 9") != std::string::npos);
}
