// minimal_allreduce: the smallest complete colossus program.
//
// Four ranks live in this process, joined by the loopback transport. Rank r
// contributes {r, r+1, r+2, ...}; after a float32 sum allreduce every rank
// holds the element-wise sum, which we check and print.
#include <cstdio>
#include <future>
#include <vector>

#include <colossus/colossus.hpp>

int main() {
  constexpr int kRanks = 4;
  constexpr int kCount = 8;
  try {
    std::vector<colossus::Communicator> comms = colossus::loopback_group(kRanks);
    std::vector<std::vector<float>> results(kRanks, std::vector<float>(kCount));

    // A collective returns only when every rank has joined it, so each rank
    // runs on its own thread. get() rethrows a rank's colossus::Error here.
    std::vector<std::future<void>> ranks;
    ranks.reserve(kRanks);
    for (int r = 0; r < kRanks; ++r) {
      ranks.push_back(std::async(std::launch::async, [&comms, &results, r] {
        std::vector<float> input(kCount);
        for (int i = 0; i < kCount; ++i) input[i] = static_cast<float>(r + i);
        comms[r].allreduce(input.data(), results[r].data(), kCount, colossus::DataType::Float32,
                           colossus::ReduceOp::Sum);
      }));
    }
    for (auto& rank : ranks) rank.get();

    // Element i of the result is the sum over ranks of (r + i).
    std::vector<float> expected(kCount, 0.0F);
    for (int r = 0; r < kRanks; ++r) {
      for (int i = 0; i < kCount; ++i) expected[i] += static_cast<float>(r + i);
    }
    bool ok = true;
    for (const auto& result : results) ok = ok && result == expected;

    std::printf("allreduce(sum) over %d ranks:", kRanks);
    for (float v : results[0]) std::printf(" %g", v);
    std::printf(" -> %s\n", ok ? "OK" : "MISMATCH");
    return ok ? 0 : 1;
  } catch (const colossus::Error& e) {
    std::fprintf(stderr, "colossus error (%s): %s\n", colossus::to_string(e.code()), e.what());
    return 1;
  }
}
