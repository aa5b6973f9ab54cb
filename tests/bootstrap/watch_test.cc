// The watch: failures spread to every rank with their root cause; orderly
// departures spread nothing. Ranks as threads (watch_fork_test.cc has the
// ones where a process really dies or stops); also CancelScope, with_secret
// and the Notice wire format. The deadlines here are generous bounds on a
// condition, never timings under test.
#include "bootstrap/watch.hpp"

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "catch.hpp"

using namespace colossus;
using base::Failure;
using base::FailureKind;
using base::FailureState;
using bootstrap::Bootstrap;
using bootstrap::UniqueId;
using bootstrap::Watch;
using bootstrap::WatchOptions;

namespace {

bool wait_for(const std::function<bool()>& done, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Bootstrap::create for `ranks` of n on threads; what each threw, by position.
std::vector<std::string> create_all(const UniqueId& id, const std::vector<int>& ranks, int n,
                                    double timeout_s,
                                    std::vector<std::unique_ptr<Bootstrap>>* out) {
  std::vector<std::string> errors(ranks.size());
  out->resize(ranks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        (*out)[i] = Bootstrap::create(id, ranks[i], n, timeout_s);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

// n ranks as threads of this process, each with its own state and watch.
struct Job {
  std::vector<std::unique_ptr<Bootstrap>> boots;
  std::vector<std::unique_ptr<FailureState>> states;
  std::vector<std::unique_ptr<Watch>> watches;

  explicit Job(int n, const WatchOptions& o = {}) {
    std::vector<int> ranks;
    for (int r = 0; r < n; ++r) ranks.push_back(r);
    for (const std::string& e :
         create_all(bootstrap::make_unique_id("127.0.0.1:0"), ranks, n, 10, &boots)) {
      REQUIRE(e.empty());
    }
    for (int r = 0; r < n; ++r) {
      states.push_back(std::make_unique<FailureState>());
      watches.push_back(Watch::start(*boots[r], *states[r], o));
    }
  }
  bool all_raised(const std::vector<int>& ranks) {
    return wait_for(
        [&] {
          for (int r : ranks)
            if (!states[r]->raised()) return false;
          return true;
        },
        10);
  }
};

std::string expect(const FailureState& s, int rank, FailureKind kind) {
  const auto f = s.first();
  if (!f) return "nothing raised";
  if (f->rank != rank || f->kind != kind) return "raised: " + base::describe(*f);
  return "";
}

}  // namespace

TEST_CASE("a member's report reaches every other rank; rank 0 relays only the first",
          "[bootstrap][watch]") {
  Job job(4);
  try {
    job.boots[1]->barrier();
    FAIL("a collective on watched connections went through");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::InvalidUsage);
    CHECK(std::string(e.what()).find("connections are watched") != std::string::npos);
  }
  job.watches[2]->report({2, 2, FailureKind::Error, ErrorCode::SystemError, "disk on fire"});
  REQUIRE(job.all_raised({0, 1, 3}));
  for (int r : {0, 1, 3}) {
    const Failure f = *job.states[r]->first();
    CHECK(f.rank == 2);
    CHECK(f.reporter == 2);
    CHECK(f.kind == FailureKind::Error);
    CHECK(f.code == ErrorCode::SystemError);
    CHECK(f.detail == "disk on fire");
  }
  // The second report is only logged: rank 2 (who raises its own) hears nothing.
  job.watches[3]->report({3, 3, FailureKind::Aborted, ErrorCode::Aborted, "second"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(job.states[2]->raised());
  CHECK(job.states[0]->first()->detail == "disk on fire");
}

TEST_CASE("rank 0's own report reaches the members, not its own state", "[bootstrap][watch]") {
  Job job(3);
  job.watches[0]->report({0, 0, FailureKind::Revoked, ErrorCode::Aborted, ""});
  REQUIRE(job.all_raised({1, 2}));
  CHECK(expect(*job.states[1], 0, FailureKind::Revoked).empty());
  CHECK_FALSE(job.states[0]->raised());
}

TEST_CASE("rank 0 turns a PeerLost view into the peer's own fate", "[bootstrap][watch]") {
  Job job(4, {1, 10, 0.3});
  const Failure lost{3, 1, FailureKind::PeerLost, ErrorCode::RemoteError, "reset"};
  SECTION("the peer said goodbye: Left") {
    job.watches[3]->depart();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    job.watches[1]->report(lost);
    REQUIRE(job.all_raised({0, 2}));
    CHECK(expect(*job.states[2], 3, FailureKind::Left).empty());
    CHECK(job.states[2]->first()->detail.find("after it said goodbye") != std::string::npos);
  }
  SECTION("the peer looks alive past the grace: the view as is") {
    job.watches[1]->report(lost);
    REQUIRE(job.all_raised({0, 2, 3}));
    CHECK(expect(*job.states[2], 3, FailureKind::PeerLost).empty());
    CHECK(job.states[0]->first()->reporter == 1);
  }
}

TEST_CASE("ranks departing in any order raise nothing anywhere", "[bootstrap][watch]") {
  const std::vector<std::vector<int>> orders = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {}};
  for (const auto& order : orders) {
    DYNAMIC_SECTION("order " << order.size() << (order.empty() ? " (all at once)" : "")) {
      Job job(4, {0.05, 10, 0.5});
      for (auto& s : job.states) CHECK(s->expects_notices());
      if (order.empty()) {
        std::vector<std::thread> threads;
        for (auto& w : job.watches) threads.emplace_back([&w] { w->depart(); });
        for (auto& t : threads) t.join();
      }
      for (int r : order) {
        job.watches[r]->depart();
        job.watches[r]->depart();  // idempotent
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      for (int r = 0; r < 4; ++r) {
        INFO("rank " << r << ": " << expect(*job.states[r], -1, FailureKind::Error));
        CHECK_FALSE(job.states[r]->raised());
        CHECK_FALSE(job.states[r]->expects_notices());
      }
    }
  }
}

TEST_CASE("a one-rank watch has nothing to do", "[bootstrap][watch]") {
  Job job(1);
  job.watches[0]->report({0, 0, FailureKind::Aborted, ErrorCode::Aborted, ""});
  job.watches[0]->depart();
  CHECK_FALSE(job.states[0]->raised());
}

TEST_CASE("notices decode only what encode_notice made", "[bootstrap][watch]") {
  using bootstrap::decode_notice;
  using bootstrap::Encoder;
  Failure f;
  std::string why;
  const Failure sent{3, -1, FailureKind::PeerLost, ErrorCode::Timeout, "it went quiet"};
  REQUIRE(decode_notice(bootstrap::encode_notice(sent), &f, &why));
  CHECK((f.rank == 3 && f.reporter == -1 && f.kind == FailureKind::PeerLost));
  CHECK((f.code == ErrorCode::Timeout && f.detail == "it went quiet"));

  CHECK_FALSE(decode_notice("", &f, &why));
  CHECK_FALSE(decode_notice(std::string(15, '\0'), &f, &why));
  CHECK(why.find("15 bytes") != std::string::npos);
  CHECK_FALSE(decode_notice(Encoder().u32(1).u32(0).u32(0).u32(6).take(), &f, &why));
  CHECK_FALSE(decode_notice(Encoder().u32(1).u32(0).u32(99).u32(6).take(), &f, &why));
  CHECK(why.find("unknown failure kind 99") != std::string::npos);
  CHECK_FALSE(decode_notice(Encoder().u32(0x80000000u).u32(0).u32(3).u32(6).take(), &f, &why));
  REQUIRE(decode_notice(Encoder().u32(1).u32(0).u32(3).u32(77).take(), &f, &why));
  CHECK(f.code == ErrorCode::RemoteError);
  REQUIRE(decode_notice(
      Encoder().u32(1).u32(0).u32(3).u32(6).bytes(std::string(1 << 16, 'x')).take(), &f, &why));
  CHECK(f.detail.size() == bootstrap::kMaxNoticeDetail);
  std::mt19937 rng(7);  // random bytes: decoded or refused, never a crash
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 40, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (decode_notice(junk, &f, &why)) CHECK(f.rank >= 0);
  }
}

TEST_CASE("a malformed notice on the wire fails its sender, named", "[bootstrap][watch]") {
  const UniqueId id = bootstrap::make_unique_id("127.0.0.1:0");
  std::vector<std::unique_ptr<Bootstrap>> boots;
  for (const std::string& e : create_all(id, {0, 1, 2}, 3, 10, &boots)) REQUIRE(e.empty());
  FailureState s0, s2;
  auto w0 = Watch::start(*boots[0], s0);
  auto w2 = Watch::start(*boots[2], s2);
  auto raw = boots[1]->hand_over_links();  // rank 1 plays a broken peer
  CHECK_THROWS_AS(boots[1]->hand_over_links(), Error);
  const std::string bad = bootstrap::whole_frame(bootstrap::FrameType::Notice, "short");
  REQUIRE(::send(raw.links[0].get(), bad.data(), bad.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bad.size()));
  REQUIRE(wait_for([&] { return s0.raised() && s2.raised(); }, 10));
  CHECK(expect(s2, 1, FailureKind::Error).empty());
  CHECK(s2.first()->detail.find("malformed failure notice") != std::string::npos);
}

TEST_CASE("a CancelScope aborts a bootstrap setup in progress", "[bootstrap][watch]") {
  FailureState state;
  std::thread raiser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    state.raise({1, 1, FailureKind::Aborted, ErrorCode::Aborted, "test"});
  });
  std::string error;
  auto create = [&](const UniqueId& id, int rank) {
    bootstrap::CancelScope scope(state);
    try {
      Bootstrap::create(id, rank, 2, 30);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Aborted);
      error = e.what();
    }
  };
  SECTION("rank 0 waiting for a rank that never comes") {
    create(bootstrap::make_unique_id("127.0.0.1:0"), 0);
  }
  SECTION("a member retrying to connect to a rank 0 that is not there") {
    const UniqueId id = bootstrap::make_unique_id("127.0.0.1:0");
    bootstrap::discard_unique_id(id);
    create(id, 1);
  }
  SECTION("a member in a barrier rank 0 never joins") {
    std::vector<std::unique_ptr<Bootstrap>> boots;
    for (const std::string& e :
         create_all(bootstrap::make_unique_id("127.0.0.1:0"), {0, 1}, 2, 30, &boots)) {
      REQUIRE(e.empty());
    }
    bootstrap::CancelScope scope(state);
    try {
      boots[1]->barrier();
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Aborted);
      error = e.what();
    }
  }
  // The wait ended because of the raise, not its own 30 s timeout: the
  // state was raised before the error came back.
  const bool raised_before_error = state.raised();
  raiser.join();
  INFO(error);
  CHECK(error.find(": aborted by another thread (rank 1 failed first") != std::string::npos);
  CHECK(raised_before_error);
  CHECK(bootstrap::CancelScope::current() == nullptr);
}

TEST_CASE("CancelScopes nest and cap poll_ms", "[bootstrap][watch]") {
  FailureState outer, inner;
  const bootstrap::Deadline far(60);
  CHECK(far.poll_ms() > bootstrap::kCancelPollMs);  // no cap without a scope
  {
    bootstrap::CancelScope a(outer);
    CHECK(far.poll_ms() <= bootstrap::kCancelPollMs);
    {
      bootstrap::CancelScope b(inner);
      CHECK(bootstrap::CancelScope::current() == &inner);
      inner.raise({0, 0, FailureKind::Aborted, ErrorCode::Aborted, ""});
      CHECK(far.passed());
      CHECK(far.poll_ms() == 0);
    }
    CHECK(bootstrap::CancelScope::current() == &outer);
    CHECK_FALSE(far.passed());
  }
  CHECK(bootstrap::CancelScope::current() == nullptr);
}

TEST_CASE("with_secret hands the id's listener to a job with a new secret", "[bootstrap][watch]") {
  const UniqueId spare = bootstrap::make_unique_id("127.0.0.1:0");
  const UniqueId id = bootstrap::with_secret(spare, spare.secret + 1);
  CHECK(id.secret == spare.secret + 1);
  CHECK(std::memcmp(&id.root, &spare.root, sizeof id.root) == 0);
  CHECK_FALSE(bootstrap::take_listener(spare));  // registered under the new secret only
  std::vector<std::unique_ptr<Bootstrap>> boots;
  for (const std::string& e : create_all(id, {0, 1, 2}, 3, 10, &boots)) CHECK(e.empty());
}
