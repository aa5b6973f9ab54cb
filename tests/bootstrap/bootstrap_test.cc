// The bootstrap's happy paths: unique ids, address specs, and collectives
// among ranks as threads and as forked processes, over real TCP.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "boot_harness.hpp"
#include "bootstrap/address.hpp"
#include "catch.hpp"
#include "support/skip_case.hpp"  // after catch.hpp

using namespace colossus;
using namespace colossus::test;
using bootstrap::make_unique_id;
using bootstrap::parse_unique_id;

namespace {

// Deterministic contents that differ by rank, round and position.
std::string pattern(int who, int round, std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>((who * 131 + round * 7 + static_cast<int>(i % 251)) & 0xff);
  }
  return s;
}

// Sizes from empty to 1 MiB: rank (round % n) contributes nothing, and
// every 50th round one rank contributes a whole MiB.
std::size_t blob_size(int rank, int round, int n) {
  if (rank == round % n) return 0;
  if (round % 50 == 7 && rank == (round / 50) % n) return 1 << 20;
  return static_cast<std::size_t>((rank * 37 + round * 11) % 300 + 1);
}

// `rounds` rounds of allgather, broadcast from a rotating root, and barrier.
RankBody exchange_rounds(int n, int rounds, std::atomic<int>* arrivals) {
  return [=](Bootstrap& b) -> std::string {
    const int me = b.rank();
    if (b.nranks() != n) return "nranks() is " + std::to_string(b.nranks());
    for (int k = 0; k < rounds; ++k) {
      const auto all = b.allgather(pattern(me, k, blob_size(me, k, n)));
      if (static_cast<int>(all.size()) != n) return "allgather returned the wrong count";
      for (int r = 0; r < n; ++r) {
        if (all[static_cast<std::size_t>(r)] != pattern(r, k, blob_size(r, k, n))) {
          return "round " + std::to_string(k) + ": allgather slot " + std::to_string(r) + " wrong";
        }
      }
      const int root = (k * 5 + 1) % n;
      const std::size_t bsize = k % 40 == 3 ? (1u << 20) : static_cast<std::size_t>(k % 17);
      const std::string got = b.broadcast(me == root ? pattern(1000 + root, k, bsize) : "", root);
      if (got != pattern(1000 + root, k, bsize)) {
        return "round " + std::to_string(k) + ": broadcast from " + std::to_string(root) + " wrong";
      }
      // Nobody leaves barrier k before everyone has arrived at it.
      arrivals->fetch_add(1);
      b.barrier();
      if (arrivals->load() < n * (k + 1)) return "left a barrier before all arrived";
    }
    return "";
  };
}

}  // namespace

TEST_CASE("a unique id is 128 plain bytes that round-trip through hex", "[bootstrap]") {
  static_assert(sizeof(UniqueId) == 128);
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const std::string text = bootstrap::to_string(id);
  CHECK(text.size() == 256);
  UniqueId back{};
  REQUIRE(parse_unique_id(text, &back));
  CHECK(std::memcmp(&back, &id, sizeof id) == 0);
  REQUIRE(parse_unique_id("  " + text + "\n", &back));  // as read from a file
  CHECK(std::memcmp(&back, &id, sizeof id) == 0);
  CHECK(id.root.port != 0);
  CHECK(id.secret != make_unique_id("127.0.0.1:0").secret);

  SECTION("garbage is refused") {
    UniqueId out{};
    CHECK_FALSE(parse_unique_id("", &out));
    CHECK_FALSE(parse_unique_id("hello", &out));
    CHECK_FALSE(parse_unique_id(text.substr(2), &out));
    CHECK_FALSE(parse_unique_id(text + "00", &out));
    std::string bad = text;
    bad[100] = 'g';
    CHECK_FALSE(parse_unique_id(bad, &out));
    bad = text;
    bad[0] = bad[0] == '0' ? '1' : '0';  // the magic
    CHECK_FALSE(parse_unique_id(bad, &out));
    bad = text;
    bad[255] = '1';  // padding must be zero
    CHECK_FALSE(parse_unique_id(bad, &out));
    CHECK_FALSE(parse_unique_id(std::string(256, '0'), &out));
  }
  bootstrap::discard_unique_id(id);
}

TEST_CASE("address specs resolve or say why not", "[bootstrap]") {
  bootstrap::ResolvedSpec r;
  std::string why;
  REQUIRE(bootstrap::resolve_spec("127.0.0.1:5000", &r, &why));
  CHECK(r.endpoint.str() == "127.0.0.1:5000");
  CHECK(r.numeric);
  REQUIRE(bootstrap::resolve_spec("127.0.0.1", &r, &why));
  CHECK(r.endpoint.port() == 0);
  REQUIRE(bootstrap::resolve_spec("[::1]:7", &r, &why));
  CHECK(r.endpoint.str() == "[::1]:7");
  REQUIRE(bootstrap::resolve_spec("::1", &r, &why));
  CHECK(r.endpoint.family() == AF_INET6);
  REQUIRE(bootstrap::resolve_spec("lo:9", &r, &why));  // an interface name
  CHECK(r.endpoint.str() == "127.0.0.1:9");
  REQUIRE(bootstrap::resolve_spec("localhost:80", &r, &why));
  CHECK(r.endpoint.port() == 80);
  for (const char* bad : {"", "1.2.3.4:99999", "1.2.3.4:x", "[::1", "[::1]x", "host:", ":5",
                          "no-such-host.invalid:5"}) {
    INFO(bad);
    CHECK_FALSE(bootstrap::resolve_spec(bad, &r, &why));
    CHECK_FALSE(why.empty());
  }
  CHECK_THROWS_AS(make_unique_id("1.2.3.4:99999"), Error);
}

TEST_CASE("ranks as threads: allgather, broadcast, barrier, 200 rounds", "[bootstrap]") {
  for (const int n : {1, 2, 3, 8, 33}) {
    DYNAMIC_SECTION("n = " << n) {
      const UniqueId id = make_unique_id("127.0.0.1:0");
      std::atomic<int> arrivals{0};
      const auto results = run_ranks(id, all_ranks(n), n, 60, exchange_rounds(n, 200, &arrivals));
      INFO(describe(results));
      for (const auto& r : results) CHECK(r.ok);
    }
  }
}

TEST_CASE("job_secret is the id's secret on every rank", "[bootstrap]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const auto results = run_ranks(id, all_ranks(3), 3, 30, [&](Bootstrap& b) -> std::string {
    return b.job_secret() == id.secret ? "" : "wrong secret";
  });
  INFO(describe(results));
  for (const auto& r : results) CHECK(r.ok);
}

TEST_CASE("IPv6 loopback works like IPv4", "[bootstrap]") {
  UniqueId id{};
  try {
    id = make_unique_id("[::1]:0");
  } catch (const Error& e) {
    skip_case("IPv6 loopback works like IPv4",
              std::string("no IPv6 loopback here (") + e.what() + ")");
    return;  // Catch2 v3 throws; v2 exits 77
  }
  CHECK(id.root.family == 6);
  std::atomic<int> arrivals{0};
  const auto results = run_ranks(id, all_ranks(4), 4, 30, exchange_rounds(4, 20, &arrivals));
  INFO(describe(results));
  for (const auto& r : results) CHECK(r.ok);
}

TEST_CASE("the default interface is reachable from this host", "[bootstrap]") {
  const UniqueId id = make_unique_id("");
  std::atomic<int> arrivals{0};
  const auto results = run_ranks(id, all_ranks(2), 2, 30, exchange_rounds(2, 5, &arrivals));
  INFO(describe(results));
  for (const auto& r : results) CHECK(r.ok);
}

TEST_CASE("launcher-style ids: every rank derives the id, rank 0 listens late", "[bootstrap]") {
  UniqueId probe = make_unique_id("127.0.0.1:0");
  bootstrap::discard_unique_id(probe);  // a port that was free a moment ago
  const std::string where = "127.0.0.1:" + std::to_string(probe.root.port);
  const uint64_t key = 0x1234567890abcdefull;
  const UniqueId derived = bootstrap::unique_id_for(where, key);
  {
    const UniqueId made = make_unique_id(where, key);  // what rank 0 of a launcher does
    CHECK(std::memcmp(&made, &derived, sizeof made) == 0);
    bootstrap::discard_unique_id(made);
  }
  CHECK_THROWS_AS(bootstrap::unique_id_for("127.0.0.1", key), Error);  // no port
  // Rank 0 holds no listener for `derived`: it binds when it starts, after
  // the others have begun knocking (they retry refused connections).
  std::atomic<int> unused{1 << 20};  // no barrier counting: ranks start at different times
  std::vector<RankResult> root;
  std::thread late_root([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    root = run_ranks(derived, {0}, 3, 30, exchange_rounds(3, 10, &unused));
  });
  const auto results = run_ranks(derived, {1, 2}, 3, 30, exchange_rounds(3, 10, &unused));
  late_root.join();
  INFO(describe(root) << describe(results));
  CHECK(root[0].ok);
  for (const auto& r : results) CHECK(r.ok);
}

TEST_CASE("ranks as processes: fork 4, exchange, exit 0 iff right", "[bootstrap]") {
  constexpr int n = 4;
  const UniqueId id = make_unique_id("127.0.0.1:0");
  const std::string id_text = bootstrap::to_string(id);  // the children parse it, as from a file
  std::vector<pid_t> children;
  for (int rank = 0; rank < n; ++rank) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      UniqueId mine{};
      if (!parse_unique_id(id_text, &mine)) _exit(3);
      std::atomic<int> unused{1 << 20};  // barrier counting needs shared memory; skip it here
      const RankResult r = run_rank(mine, rank, n, 30, exchange_rounds(n, 60, &unused));
      if (!r.ok) (void)!write(2, r.message.data(), r.message.size());
      _exit(r.ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  bootstrap::discard_unique_id(id);  // the parent is no rank: drop its copy of the listener
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::vector<int> status(n, -1);
  int remaining = n;
  while (remaining > 0 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < n; ++i) {
      int st = 0;
      if (status[static_cast<std::size_t>(i)] == -1 &&
          waitpid(children[static_cast<std::size_t>(i)], &st, WNOHANG) > 0) {
        status[static_cast<std::size_t>(i)] = st;
        --remaining;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < n; ++i) {
    if (status[static_cast<std::size_t>(i)] == -1) {
      kill(children[static_cast<std::size_t>(i)], SIGKILL);
      waitpid(children[static_cast<std::size_t>(i)], nullptr, 0);
      FAIL_CHECK("rank " << i << " hung and was killed");
      continue;
    }
    const int st = status[static_cast<std::size_t>(i)];
    INFO("rank " << i << " wait status " << st);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  }
}
