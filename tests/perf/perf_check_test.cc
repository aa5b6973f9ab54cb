// The *_perf correctness check itself: if its codec or its expected values
// were wrong, every #wrong column would be meaningless.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "perf/check.hpp"
#include "perf/codec.hpp"
#include "perf/options.hpp"
#include "perf/pattern.hpp"

using colossus::DataType;
using colossus::ReduceOp;
namespace perf = colossus::perf;

namespace {

uint32_t bits(DataType t, double v) {
  uint32_t out = 0;
  perf::encode(t, v, &out);
  return out;
}

double roundtrip(DataType t, double v) {
  unsigned char buf[8];
  perf::encode(t, v, buf);
  return perf::decode(t, buf);
}

}  // namespace

TEST_CASE("codec encodes narrow floats as CUDA does") {
  CHECK(bits(DataType::Float16, 1.0) == 0x3C00);
  CHECK(bits(DataType::Float16, -2.0) == 0xC000);
  CHECK(bits(DataType::Float16, 65504.0) == 0x7BFF);
  CHECK(bits(DataType::Float16, 1e6) == 0x7C00);                         // overflow: inf
  CHECK(bits(DataType::Float16, std::ldexp(1.0, -24)) == 0x0001);        // smallest subnormal
  CHECK(bits(DataType::Float16, 1.0 + std::ldexp(1.0, -11)) == 0x3C00);  // tie: to even
  CHECK(bits(DataType::Float16, 1.0 + 3 * std::ldexp(1.0, -11)) == 0x3C02);
  CHECK(bits(DataType::Bfloat16, 1.0) == 0x3F80);
  CHECK(bits(DataType::Bfloat16, -3.0) == 0xC040);
  CHECK(bits(DataType::Float8e4m3, 1.0) == 0x38);
  CHECK(bits(DataType::Float8e4m3, 448.0) == 0x7E);
  CHECK(bits(DataType::Float8e4m3, 1000.0) == 0x7F);  // no inf in e4m3: NaN
  CHECK(bits(DataType::Float8e4m3, std::ldexp(1.0, -9)) == 0x01);
  CHECK(bits(DataType::Float8e5m2, 1.0) == 0x3C);
  CHECK(bits(DataType::Float8e5m2, 57344.0) == 0x7B);
  CHECK(bits(DataType::Float8e5m2, 1e6) == 0x7C);
  CHECK(std::isnan(perf::decode(DataType::Float8e4m3, "\x7f")));
  CHECK(roundtrip(DataType::Float8e5m2, 9.0) == 8.0);  // tie to even
  CHECK(roundtrip(DataType::Float8e5m2, 11.0) == 12.0);
  CHECK(roundtrip(DataType::Int8, 130.0) == -126.0);  // wraps
  CHECK(roundtrip(DataType::Uint8, -1.0) == 255.0);
}

TEST_CASE("every exactly representable integer survives the codec") {
  for (int t = 0; t < colossus::kNumDataTypes; ++t) {
    auto type = static_cast<DataType>(t);
    double limit = std::min(perf::exact_integer_limit(type), 4096.0);
    double low = perf::is_signed(type) ? -limit : 0;
    for (double v = low; v <= limit; v += 1) REQUIRE(roundtrip(type, v) == v);
  }
}

TEST_CASE("sums of the pattern are exact in any order where the pattern promises it") {
  // A ring or a tree adds in some order and rounds after every step; the
  // pattern claims no such rounding changes a sum. Check with random orders.
  std::mt19937 rng(7);
  for (DataType type : {DataType::Float8e5m2, DataType::Float8e4m3, DataType::Bfloat16,
                        DataType::Float16, DataType::Int8}) {
    for (int n : {2, 3, 8}) {
      perf::Pattern pattern(type, ReduceOp::Sum, n, 5);
      auto reduced = pattern.reduced_table();
      if (reduced.tolerance != 0) continue;  // a bound, not exactness, is claimed
      std::vector<std::vector<unsigned char>> inputs;
      inputs.reserve(n);
      for (int r = 0; r < n; ++r) inputs.push_back(pattern.input_table(r));
      std::size_t size = colossus::dtype_size(type);
      std::vector<int> order(n);
      for (std::size_t p = 0; p < perf::kPatternPeriod; ++p) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        double acc = perf::decode(type, &inputs[order[0]][p * size]);
        for (int i = 1; i < n; ++i) {
          acc = roundtrip(type, acc + perf::decode(type, &inputs[order[i]][p * size]));
        }
        REQUIRE(acc == reduced.value[p]);
      }
    }
  }
}

TEST_CASE("RankCheck counts exactly the elements that are wrong") {
  const int n = 3;
  const std::size_t count = 5000;
  DataType type = DataType::Float16;
  auto& coll = perf::all_reduce_collective();
  perf::Counts c = coll.counts(count, n);
  std::vector<std::vector<unsigned char>> send(n, std::vector<unsigned char>(count * 2));
  std::vector<std::vector<unsigned char>> recv(n, std::vector<unsigned char>(count * 2));
  std::vector<perf::RankCheck> checks;
  std::vector<perf::CallBuffers> bufs;
  for (int r = 0; r < n; ++r) {
    checks.emplace_back(coll, type, ReduceOp::Avg, r, n, 0);
    bufs.push_back({send[r].data(), recv[r].data(), recv[r].data(), count * 2});
    checks[r].prepare(bufs[r], c, 42);
  }
  // Untouched receive buffers: every element is still poison.
  CHECK(checks[0].verify(bufs[0], c, false) == static_cast<int64_t>(count));

  // A reference average: fp32 sum, divided, rounded once.
  for (std::size_t i = 0; i < count; ++i) {
    double sum = 0;
    for (int r = 0; r < n; ++r) sum += perf::decode(type, &send[r][i * 2]);
    for (int r = 0; r < n; ++r) perf::encode(type, static_cast<float>(sum) / n, &recv[r][i * 2]);
  }
  for (int r = 0; r < n; ++r) CHECK(checks[r].verify(bufs[r], c, false) == 0);

  // One ulp off is within the average's tolerance; a wrong value is not.
  uint16_t v;
  std::memcpy(&v, &recv[1][std::size_t{10} * 2], 2);
  v ^= 1;
  std::memcpy(&recv[1][std::size_t{10} * 2], &v, 2);
  CHECK(checks[1].verify(bufs[1], c, false) == 0);
  perf::encode(type, 100.0, &recv[1][std::size_t{20} * 2]);
  perf::encode(type, std::nan(""), &recv[1][std::size_t{4000} * 2]);
  CHECK(checks[1].verify(bufs[1], c, false) == 2);
}

TEST_CASE("sizes step as in nccl-tests") {
  perf::PerfOptions o;
  o.min_bytes = 8;
  o.max_bytes = 1 << 20;
  o.step_factor = 4;
  CHECK(perf::size_steps(o).size() == 9);
  o.step_factor = 1;
  o.min_bytes = 1024;
  o.max_bytes = 5000;
  o.step_bytes = 1024;
  CHECK(perf::size_steps(o) == std::vector<std::size_t>{1024, 2048, 3072, 4096});
}

TEST_CASE("the size flags -b, -e and -i take the library's byte sizes") {
  // The grammar is base::parse_bytes (tests/base/config_test.cc); here, that
  // the flags use it. "8MB" was refused while the tools had a grammar of
  // their own; now every size flag of the library and its tools reads it.
  auto parse = [](std::vector<std::string> words) {
    words.insert(words.begin(), "all_reduce_perf");
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    int exit_code = -1;
    return perf::parse_options(static_cast<int>(words.size()), argv.data(), &exit_code);
  };
  const auto o = parse({"-b", "1.5k", "-e", "32M", "-i", "8MB"});
  REQUIRE(o);
  CHECK(o->min_bytes == 1536);
  CHECK(o->max_bytes == (32u << 20));
  CHECK(o->step_bytes == (8u << 20));
  CHECK_FALSE(parse({"-b", "-8"}));
  CHECK_FALSE(parse({"-b", ""}));
  CHECK_FALSE(parse({"-e", "1e3"}));
}
