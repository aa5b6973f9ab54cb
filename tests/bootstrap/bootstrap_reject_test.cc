// Strangers at rank 0's port: each is refused with a logged reason while the
// real ranks complete setup as if it were not there.
#include <fstream>
#include <functional>
#include <sstream>

#include "boot_harness.hpp"
#include "catch.hpp"

using namespace colossus;
using namespace colossus::test;
using bootstrap::FrameType;
using bootstrap::make_unique_id;

namespace {

constexpr int kRanks = 3;

RankBody one_allgather() {
  return [](Bootstrap& b) -> std::string {
    const auto all = b.allgather(std::to_string(b.rank()));
    for (int r = 0; r < b.nranks(); ++r) {
      if (all[static_cast<std::size_t>(r)] != std::to_string(r)) return "allgather wrong";
    }
    return "";
  };
}

// Is there a line in the rejection log about `client` that mentions `reason`?
bool logged(const std::string& client, const std::string& reason) {
  for (const std::string& line : Bootstrap::rejected_log()) {
    if (line.find("from " + client + ": ") != std::string::npos &&
        line.find(reason) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The Reject frame rank 0 sent back, as "code: reason", or what came instead.
std::string reply_of(RawClient& client) {
  const std::string bytes = client.read_all();
  if (bytes.size() < bootstrap::kFrameHeaderBytes) return "(no reply)";
  bootstrap::Decoder d(bytes);
  uint32_t magic = 0, type = 0;
  uint64_t length = 0;
  d.u32(&magic);
  d.u32(&type);
  d.u64(&length);
  if (type != static_cast<uint32_t>(FrameType::Reject)) return "(not a reject frame)";
  ErrorCode code;
  std::string reason;
  bootstrap::decode_failure(d.rest(), &code, &reason);
  return std::string(to_string(code)) + ": " + reason;
}

// The stranger speaks first; then the real ranks set up and exchange. They
// must all succeed, promptly, and rank 0 must log why it refused the stranger.
// `bytes` makes what the stranger sends from the job's id.
void expect_refused(const std::function<std::string(const UniqueId&)>& bytes,
                    const std::string& reason, bool close_after) {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  RawClient stranger(id.root.port);
  REQUIRE(stranger.connected());
  const std::string client = stranger.local_address();
  REQUIRE(stranger.send(bytes(id)));
  if (close_after) stranger.close();
  const auto results = run_ranks(id, all_ranks(kRanks), kRanks, 30, one_allgather());
  INFO(describe(results));
  for (const auto& r : results) {
    CHECK(r.ok);
    CHECK(r.seconds < 3);  // well under the 5 s a stranger may take to say hello
  }
  CHECK(logged(client, reason));
  if (!close_after) CHECK(reply_of(stranger).find(reason) != std::string::npos);
}

// Bytes that the server side of a not-yet-accepted connection to `port`
// has received: /proc/net/tcp shows them as its rx_queue.
std::size_t queued_bytes_at(uint16_t port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  std::size_t most = 0;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    const unsigned long local_port = std::stoul(local.substr(local.find(':') + 1), nullptr, 16);
    if (local_port != port || state != "01") continue;  // 01: established
    most =
        std::max<std::size_t>(most, std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16));
  }
  return most;
}

}  // namespace

TEST_CASE("a wrong secret is refused", "[bootstrap][reject]") {
  expect_refused(
      [](const UniqueId& id) {
        bootstrap::Hello h = valid_hello(id, 1, kRanks);
        h.secret ^= 0x5a5a;  // as from another job
        return hello_frame(h);
      },
      "wrong secret", false);
}

TEST_CASE("garbage bytes are refused as a bad magic", "[bootstrap][reject]") {
  expect_refused([](const UniqueId&) { return "GET / HTTP/1.1\r\nHost: rank0\r\n\r\n"; },
                 "bad magic", false);
}

TEST_CASE("a truncated hello and a close are refused", "[bootstrap][reject]") {
  expect_refused(
      [](const UniqueId& id) { return hello_frame(valid_hello(id, 1, kRanks)).substr(0, 10); },
      "closed after 10 bytes of a truncated hello", true);
}

TEST_CASE("a connection that says nothing and closes is refused", "[bootstrap][reject]") {
  expect_refused([](const UniqueId&) { return ""; }, "closed without sending a hello", true);
}

TEST_CASE("a truncated hello that stalls does not hold up setup", "[bootstrap][reject]") {
  // The real ranks finish long before the staller's 5 s are up; it is then
  // turned away as not part of the complete job.
  expect_refused(
      [](const UniqueId& id) { return hello_frame(valid_hello(id, 1, kRanks)).substr(0, 20); },
      "unfinished", false);
}

TEST_CASE("a stalled hello is cut off after its own short deadline", "[bootstrap][reject]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  RawClient staller(id.root.port);
  REQUIRE(staller.send(hello_frame(valid_hello(id, 1, 2)).substr(0, 20)));
  const std::string client = staller.local_address();
  // Rank 1 arrives only after rank 0 has given the staller its 5 s.
  std::vector<RankResult> r1;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5500));
    r1 = run_ranks(id, {1}, 2, 30, one_allgather());
  });
  const auto r0 = run_ranks(id, {0}, 2, 30, one_allgather());
  late.join();
  INFO(describe(r0) << describe(r1));
  CHECK(r0[0].ok);
  CHECK(r1[0].ok);
  CHECK(logged(client, "stalled: 20 bytes of a hello in 5 s"));
  CHECK(reply_of(staller).find("stalled") != std::string::npos);
}

TEST_CASE("an oversized length is refused before anything is allocated", "[bootstrap][reject]") {
  expect_refused(
      [](const UniqueId&) { return bootstrap::frame_header(FrameType::Hello, 1ull << 40); },
      "oversized frame", false);
}

TEST_CASE("a protocol version mismatch is refused and named", "[bootstrap][reject]") {
  expect_refused(
      [](const UniqueId& id) {
        bootstrap::Hello h = valid_hello(id, 1, kRanks);
        h.version = 99;
        return hello_frame(h);
      },
      "version mismatch: peer speaks v99, we speak v1", false);
}

TEST_CASE("hellos that claim no rank of this job are refused", "[bootstrap][reject]") {
  SECTION("rank out of range") {
    expect_refused([](const UniqueId& id) { return hello_frame(valid_hello(id, 7, kRanks)); },
                   "rank 7 is out of range 1..2", false);
  }
  SECTION("rank 0 itself") {
    expect_refused([](const UniqueId& id) { return hello_frame(valid_hello(id, 0, kRanks)); },
                   "rank 0 is out of range", false);
  }
  SECTION("nranks mismatch") {
    expect_refused([](const UniqueId& id) { return hello_frame(valid_hello(id, 1, 5)); },
                   "says the job has 5 ranks", false);
  }
  SECTION("another frame before the hello") {
    expect_refused([](const UniqueId&) { return bootstrap::whole_frame(FrameType::Gather, "x"); },
                   "before a hello", false);
  }
}

TEST_CASE("a duplicate rank is refused, and the first to claim a rank keeps it",
          "[bootstrap][reject]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  // Real rank 1 connects and says hello while rank 0 is not yet accepting.
  std::vector<RankResult> r1;
  std::thread rank1([&] { r1 = run_ranks(id, {1}, kRanks, 30, one_allgather()); });
  const auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (queued_bytes_at(id.root.port) < bootstrap::kFrameHeaderBytes + 20 &&
         std::chrono::steady_clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  RawClient impostor(id.root.port);
  REQUIRE(impostor.send(hello_frame(valid_hello(id, 1, kRanks))));  // right secret, taken rank
  const std::string client = impostor.local_address();
  const auto others = run_ranks(id, {0, 2}, kRanks, 30, one_allgather());
  rank1.join();
  INFO(describe(others) << describe(r1));
  for (const auto& r : others) CHECK(r.ok);
  CHECK(r1[0].ok);
  CHECK(logged(client, "duplicate rank 1"));
  CHECK(reply_of(impostor).find("duplicate rank 1") != std::string::npos);
}

TEST_CASE("many strangers at once do not stop the job", "[bootstrap][reject]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  std::vector<std::unique_ptr<RawClient>> strangers;
  bootstrap::Hello wrong = valid_hello(id, 1, 8);
  wrong.secret += 1;
  for (const std::string& bytes :
       {std::string("garbage!garbage!"), hello_frame(wrong), std::string("\x42\x4f"),
        bootstrap::frame_header(FrameType::Hello, 1 << 20), std::string()}) {
    strangers.push_back(std::make_unique<RawClient>(id.root.port));
    REQUIRE(strangers.back()->send(bytes));
  }
  const auto results = run_ranks(id, all_ranks(8), 8, 30, one_allgather());
  INFO(describe(results));
  for (const auto& r : results) {
    CHECK(r.ok);
    CHECK(r.seconds < 3);
  }
}

TEST_CASE("a real rank that rank 0 refuses learns why at once", "[bootstrap][reject]") {
  const UniqueId id = make_unique_id("127.0.0.1:0");
  std::vector<RankResult> r0;
  std::thread root([&] { r0 = run_ranks(id, {0}, 2, 2, nullptr); });
  const auto r = run_ranks(id, {1}, 3, 30, nullptr);  // disagrees about nranks
  root.join();
  CHECK(r0[0].code == ErrorCode::Timeout);
  CHECK(r0[0].message.find("last refused") != std::string::npos);
  CHECK(r[0].code == ErrorCode::InvalidUsage);
  CHECK(r[0].message.find("says the job has 3 ranks") != std::string::npos);
  CHECK(r[0].seconds < 1.5);
}
