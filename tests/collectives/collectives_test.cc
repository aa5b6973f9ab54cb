// Loopback with real data: every collective x dtype x op x n, in place and
// out of place, odd counts, misaligned buffers, two channel/chunk settings
// (the second forces many chunks, loops and slot-sized pieces).
#include <vector>

#include "catch.hpp"
#include "collectives/harness.hpp"

namespace {

using colossus::DataType;
using colossus::Options;
using colossus::ReduceOp;
using colossus::plan::Collective;
using colossus::test::Case;
using colossus::test::Group;

const int kRankCounts[] = {1, 2, 3, 4, 7, 8, 16};
const std::size_t kCounts[] = {0, 1, 2, 7, 1009};

std::vector<Options> settings() {
  Options wide;  // defaults: 2 channels, 512 KiB chunks and slots
  wide.timeout_s = 60;
  Options tiny;
  tiny.nchannels = 3;
  tiny.chunk_bytes = 64;
  tiny.slot_bytes = 64;
  tiny.timeout_s = 60;
  return {wide, tiny};
}

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}

// Runs the full dtype x op x count x placement sweep of one collective.
void sweep(Collective coll) {
  std::vector<std::string> problems;
  std::size_t cases = 0;
  for (int n : kRankCounts) {
    const int setting_count = static_cast<int>(settings().size());
    for (int s = 0; s < setting_count; ++s) {
      Group group(n, settings()[static_cast<std::size_t>(s)]);
      for (int t = 0; t < colossus::kNumDataTypes; ++t) {
        for (int o = 0; o < (reduces(coll) ? colossus::kNumReduceOps : 1); ++o) {
          for (std::size_t count : kCounts) {
            for (bool in_place : {false, true}) {
              Case c;
              c.coll = coll;
              c.dtype = static_cast<DataType>(t);
              c.op = static_cast<ReduceOp>(o);
              c.count = count;
              c.root = (n - 1) / 2 + static_cast<int>(count % 2) * (n / 2);  // varies in [0, n)
              c.in_place = in_place;
              c.misaligned = (count + static_cast<std::size_t>(t)) % 3 == 1;
              for (auto& p : group.run(c)) problems.push_back(p);
              ++cases;
            }
          }
        }
      }
      // A count large enough for several chunks and loops at the wide setting.
      for (DataType t : {DataType::Float32, DataType::Bfloat16, DataType::Int8}) {
        Case c;
        c.coll = coll;
        c.dtype = t;
        c.op = reduces(coll) ? ReduceOp::Sum : ReduceOp::Sum;
        c.count = s == 0 ? 300007 : 20011;
        c.root = n - 1;
        for (auto& p : group.run(c)) problems.push_back(p);
        ++cases;
      }
    }
  }
  INFO(cases << " cases, first problems:\n"
             << (problems.empty() ? std::string("none")
                                  : problems[0] + (problems.size() > 1 ? "\n" + problems[1] : "")));
  CHECK(cases > 0);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("loopback allreduce matches the float64 reference", "[loopback]") {
  sweep(Collective::AllReduce);
}
TEST_CASE("loopback allgather matches the float64 reference", "[loopback]") {
  sweep(Collective::AllGather);
}
TEST_CASE("loopback reduce_scatter matches the float64 reference", "[loopback]") {
  sweep(Collective::ReduceScatter);
}
TEST_CASE("loopback broadcast matches the float64 reference", "[loopback]") {
  sweep(Collective::Broadcast);
}
TEST_CASE("loopback reduce matches the float64 reference", "[loopback]") {
  sweep(Collective::Reduce);
}

// A chunk of many slots would deadlock a ring (each step needs a free slot
// while its first send still fills the stream); the settings clamp it.
TEST_CASE("a chunk larger than the FIFO holds is clamped, not a deadlock", "[loopback]") {
  Options o;
  o.chunk_bytes = 1 << 20;
  o.slot_bytes = 256;
  o.timeout_s = 20;
  Group group(5, o);
  std::vector<std::string> problems;
  for (Collective coll : {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                          Collective::Broadcast, Collective::Reduce}) {
    Case c;
    c.coll = coll;
    c.count = 10007;
    c.root = 2;
    for (auto& p : group.run(c)) problems.push_back(p);
  }
  INFO((problems.empty() ? std::string("none") : problems[0]));
  CHECK(problems.empty());
}
