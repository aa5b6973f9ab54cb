// refusal_test.cc: simulate() refuses what it cannot do, with
// InvalidArgument and a message that says why, before doing any work
// (in particular before holding Plans it could not fit: kMaxSimSteps).
// "Before doing any work" is counted, not timed: the heap allocations made
// while refusing (this binary counts every operator new) stay far below one
// per rank, and the peak resident memory does not grow.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;
using colossus::Error;
using colossus::ErrorCode;

// Every operator new of this binary is counted. All the unaligned forms are
// replaced together (plain, array, nothrow, and their deletes): under
// AddressSanitizer each form is its own interceptor, so replacing only some
// would pair ASan's new with this file's delete. Aligned new is not counted:
// it has its own pairs, left as they are.
namespace {
std::atomic<std::uint64_t> g_allocations{0};

void* counted_alloc(std::size_t n) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* counted_alloc_or_throw(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new[](std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Runs simulate(), expects InvalidArgument; returns the lowercased message.
std::string refusal(const Fabric& f, const CollArgs& a, Algo algo, const AlgoParams& p,
                    bool fold = true) {
  try {
    (void)run(f, a, algo, p, fold);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::InvalidArgument);
    return lower(e.what());
  }
  FAIL("simulate() accepted the call");
  return "";
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

bool mentions_limit(const std::string& msg) {
  for (const char* form :
       {"16000000", "16,000,000", "16'000'000", "16 000 000", "1.6e+07", "16m", "16 million"}) {
    if (msg.find(form) != std::string::npos) return true;
  }
  return msg.find("limit") != std::string::npos || msg.find("kmaxsimsteps") != std::string::npos;
}

}  // namespace

TEST_CASE("a call for another number of ranks than the fabric's is refused") {
  const Fabric f = Fabric::uniform(Layout::blocks(2, 4), model_of(Rates{}));
  for (const int n : {7, 9, 16}) {
    const std::string msg =
        refusal(f, args_of(Collective::AllReduce, 1024, n), Algo::Ring, params_of(1));
    INFO(msg);
    CHECK(msg.find(std::to_string(n)) != std::string::npos);
    CHECK(msg.find("8") != std::string::npos);
  }
}

TEST_CASE("an algorithm that does not implement the collective is refused") {
  const Fabric f = Fabric::uniform(Layout::blocks(2, 4), model_of(Rates{}));
  struct Case {
    Algo algo;
    Collective coll;
  };
  for (const Case c : {Case{Algo::RecursiveDoubling, Collective::AllGather},
                       Case{Algo::RecursiveDoubling, Collective::Broadcast},
                       Case{Algo::Tree, Collective::ReduceScatter}}) {
    REQUIRE_FALSE(colossus::algorithms::supports(c.algo, c.coll));
    const std::string msg = refusal(f, args_of(c.coll, 1024, 8), c.algo, params_of(1));
    INFO(msg);
    CHECK(msg.find(colossus::algorithms::to_string(c.algo)) != std::string::npos);
    CHECK(msg.find(lower(colossus::plan::to_string(c.coll))) != std::string::npos);
  }
}

// 100,000 ranks: a tree is not foldable, so every rank's Plan would be held:
// 2 channels x 2048 chunks x 2..4 steps each, some 10^9 steps in all, far
// over kMaxSimSteps. Refused before building them: with no Plan per rank
// built (a Plan takes several allocations; fewer than one per 10 ranks are
// made) and without memory.
TEST_CASE("an unfoldable call too big to hold is refused before building its Plans") {
  const Fabric f = Fabric::uniform(Layout::blocks(12500, 8), model_of(Rates{}));
  const long rss0 = peak_rss_kib();
  const std::uint64_t allocs0 = g_allocations;
  const std::string msg = refusal(f, args_of(Collective::AllReduce, std::size_t{1} << 28, 100000),
                                  Algo::Tree, params_of(1));
  const std::uint64_t allocs = g_allocations - allocs0;
  INFO(msg);
  INFO("allocations while refusing: " << allocs);
  CHECK(msg.find("step") != std::string::npos);  // says how many steps
  CHECK(msg.find("100000") != std::string::npos);
  CHECK(mentions_limit(msg));
  CHECK(msg.find("fold") != std::string::npos);  // and why folding did not apply
  CHECK(allocs < 100000 / 10);
  CHECK(peak_rss_kib() - rss0 < 512 * 1024);  // never got near holding 10^9 steps

  // Folding switched off: the same for a ring, which could otherwise fold.
  const std::uint64_t allocs1 = g_allocations;
  const std::string ring_msg =
      refusal(f, args_of(Collective::AllReduce, std::size_t{100000} * 64, 100000), Algo::Ring,
              params_of(1), false);
  const std::uint64_t ring_allocs = g_allocations - allocs1;
  INFO(ring_msg);
  INFO("allocations while refusing the ring: " << ring_allocs);
  CHECK(mentions_limit(ring_msg));
  CHECK(ring_allocs < 100000 / 10);
  CHECK(peak_rss_kib() - rss0 < 512 * 1024);
}
