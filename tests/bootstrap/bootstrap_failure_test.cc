// Failures: missing ranks, dying ranks, misuse. Every rank ends with an
// Error within its deadline; none hangs.
#include <atomic>

#include "boot_harness.hpp"
#include "catch.hpp"

using namespace colossus;
using namespace colossus::test;
using bootstrap::make_unique_id;

namespace {

bool mentions(const RankResult& r, const std::string& words) {
  return r.message.find(words) != std::string::npos;
}

}  // namespace

TEST_CASE("a rank that never shows up times every other rank out", "[bootstrap][failure]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const auto results = run_ranks(id, {0, 1}, 3, 1, nullptr);  // rank 2 never comes
  INFO(describe(results));
  for (const auto& r : results) {
    CHECK(r.code == ErrorCode::Timeout);
    CHECK(r.seconds < 2.5);
  }
  // "missing ranks 2", or "rank 1 ... left before ranks 2 joined" when rank
  // 1's deadline passed first and it told rank 0 so.
  CHECK(mentions(results[0], "ranks 2"));
}

TEST_CASE("without rank 0 the others time out", "[bootstrap][failure]") {
  SECTION("rank 0's listener exists but rank 0 never answers") {
    const UniqueId id = make_unique_id("127.0.0.1:0");
    const auto results = run_ranks(id, {1, 2}, 3, 1, nullptr);
    INFO(describe(results));
    for (const auto& r : results) {
      CHECK(r.code == ErrorCode::Timeout);
      CHECK(mentions(r, "no welcome from rank 0"));
      CHECK(r.seconds < 2.5);
    }
    bootstrap::discard_unique_id(id);
  }
  SECTION("nothing listens at the id's address") {
    UniqueId id = make_unique_id("127.0.0.1:0");
    bootstrap::discard_unique_id(id);  // the port is closed now
    const auto results = run_ranks(id, {1}, 2, 1, nullptr);
    CHECK(results[0].code == ErrorCode::Timeout);
    CHECK(mentions(results[0], "could not connect to rank 0"));
    CHECK(results[0].seconds < 2.5);
  }
}

TEST_CASE("a rank that waits too long in a collective times the others out",
          "[bootstrap][failure]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const auto results = run_ranks(id, all_ranks(3), 3, 1, [](Bootstrap& b) -> std::string {
    if (b.rank() == 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return "";
    }
    b.allgather("x");
    return "allgather returned";
  });
  INFO(describe(results));
  CHECK(results[0].code == ErrorCode::Timeout);
  CHECK(mentions(results[0], "waited 1 s for ranks 2"));
  CHECK(results[1].code == ErrorCode::Timeout);
}

TEST_CASE("a rank that dies mid-allgather fails the others, never hangs", "[bootstrap][failure]") {
  for (const int dead : {0, 2}) {
    DYNAMIC_SECTION("rank " << dead << " dies") {
      const UniqueId id = make_unique_id("127.0.0.1:0");
      std::atomic<int> calls_after{0};
      const auto results = run_ranks(id, all_ranks(4), 4, 10, [&](Bootstrap& b) -> std::string {
        for (int k = 0; k < 5; ++k) b.allgather(std::string(100, 'a'));
        if (b.rank() == dead) return "";  // its Bootstrap is destroyed on return
        try {
          for (int k = 0; k < 5; ++k) b.allgather("after");
          return "allgather went on without rank " + std::to_string(dead);
        } catch (const Error& e) {
          // Once failed, always failed.
          try {
            b.barrier();
          } catch (const Error&) {
            calls_after.fetch_add(1);
          }
          throw;
        }
      });
      INFO(describe(results));
      for (std::size_t r = 0; r < results.size(); ++r) {
        if (static_cast<int>(r) == dead) {
          CHECK(results[r].ok);
          continue;
        }
        CHECK((results[r].code == ErrorCode::RemoteError || results[r].code == ErrorCode::Timeout));
        CHECK(mentions(results[r], "rank " + std::to_string(dead)));
        CHECK(results[r].seconds < 5);
      }
      CHECK(calls_after.load() == 3);
    }
  }
}

TEST_CASE("ranks calling different collectives all fail", "[bootstrap][failure]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const auto results = run_ranks(id, all_ranks(3), 3, 10, [](Bootstrap& b) -> std::string {
    if (b.rank() == 1)
      b.barrier();
    else
      b.allgather("x");
    return "no error";
  });
  INFO(describe(results));
  for (const auto& r : results) {
    CHECK(r.code == ErrorCode::InvalidUsage);
    CHECK(mentions(r, "same collectives in the same order"));
  }
}

TEST_CASE("an allgather over the frame limit fails on every rank", "[bootstrap][failure]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const auto results = run_ranks(id, all_ranks(2), 2, 30, [](Bootstrap& b) -> std::string {
    b.allgather(std::string(40 << 20, 'z'));  // 80 MiB in all
    return "no error";
  });
  INFO(describe(results));
  for (const auto& r : results) {
    CHECK(r.code == ErrorCode::InvalidArgument);
    CHECK(mentions(r, "at most"));
  }
}

TEST_CASE("bad arguments are refused with InvalidArgument", "[bootstrap][failure]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  auto code_of = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::Success;
  };
  CHECK(code_of([&] { Bootstrap::create(id, 2, 2, 1); }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] { Bootstrap::create(id, 0, 0, 1); }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] { Bootstrap::create(id, 0, 1, 0); }) == ErrorCode::InvalidArgument);
  UniqueId bad = id;
  bad.magic ^= 1;
  CHECK(code_of([&] { Bootstrap::create(bad, 0, 1, 1); }) == ErrorCode::InvalidArgument);
  auto single = Bootstrap::create(id, 0, 1, 1);
  CHECK(single->broadcast("b", 0) == "b");
  CHECK(code_of([&] { single->broadcast("b", 1); }) == ErrorCode::InvalidArgument);
}
