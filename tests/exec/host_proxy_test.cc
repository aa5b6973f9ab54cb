// The host proxy without a GPU: a thread per rank plays the kernel, speaking
// the FIFO protocol of device_plan.hpp to rings in ordinary host memory, and
// the proxies carry them over the loopback and tcp transports. Checked: every
// byte and size arrives in order, in both directions on several channels at
// once, for several ring depths; a dead peer sets the abort flag and names
// itself; bad sizes and connects fail loudly; an idle proxy sleeps between
// its looks and a stopped one looks no more. Looks are counted as polls of
// its transport, through the fault transport with no rules: nothing here
// asserts how long anything takes. Every wait has a deadline.
#include "exec/cuda/host_proxy.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "support/thread_oob.hpp"
#include "support/transport_set.hpp"
#include "transports/fault/fault.hpp"
#include "transports/loopback/loopback.hpp"
#include "transports/tcp/tcp.hpp"
#include "transports/ucx/ucx.hpp"

using namespace colossus;
using exec::gpu::HostProxy;
using exec::gpu::ProxyRing;
using Clock = std::chrono::steady_clock;

namespace {

// The proxy raises the abort flag with an atomic store from its thread.
bool raised(const volatile int* flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0; }

// How long any wait may see nothing happen before the test fails. Streams
// that keep moving may take longer (a loaded 2-core machine runs depth-1
// rings at a few hundred messages a second), up to kOverall.
constexpr auto kDeadline = std::chrono::seconds(20);
constexpr auto kOverall = std::chrono::seconds(240);

// One direction of one connection, in memory a GPU would map. Counters start
// at `base` (both ends agree on it), so a ring can continue a count.
struct Ring {
  Ring(std::size_t slot_bytes, std::uint32_t depth, std::uint64_t base = 0)
      : slot_bytes(slot_bytes),
        depth(depth),
        base(base),
        slots(slot_bytes * depth),
        sizes(depth, 0xdeadbeef),
        head(base),
        tail(base) {}
  ProxyRing view() { return {slots.data(), sizes.data(), &head, &tail}; }
  std::uint64_t load(std::uint64_t& counter) {
    return std::atomic_ref<std::uint64_t>(counter).load(std::memory_order_acquire);
  }
  void store(std::uint64_t& counter, std::uint64_t v) {
    std::atomic_ref<std::uint64_t>(counter).store(v, std::memory_order_release);
  }
  std::byte* slot(std::uint64_t i) { return slots.data() + (i % depth) * slot_bytes; }

  const std::size_t slot_bytes;
  const std::uint32_t depth;
  const std::uint64_t base;
  std::vector<std::byte> slots;
  std::vector<std::uint32_t> sizes;
  alignas(64) std::uint64_t head;
  alignas(64) std::uint64_t tail;
};

// Message m of stream s: its size (0 ..= slot, every value over a run) and
// its bytes, which differ between neighbouring messages and streams.
std::size_t size_of(int s, std::uint64_t m, std::size_t slot) {
  return static_cast<std::size_t>((m * 2654435761u + static_cast<std::uint64_t>(s) * 97) %
                                  (slot + 1));
}
std::byte byte_of(int s, std::uint64_t m, std::size_t i) {
  return static_cast<std::byte>(m * 131 + i * 7 + static_cast<std::uint64_t>(s) * 29 + (i >> 8));
}

// What one block of the persistent kernel does with one connection.
struct Producer {
  Ring* ring;
  int stream;
  std::uint64_t n;  // messages to send; UINT64_MAX: until stopped
  std::uint64_t done = 0;
  bool step() {  // wait for a free slot, write it and its size, release head
    Ring& r = *ring;
    const std::uint64_t i = r.base + done;
    if (i - r.load(r.tail) >= r.depth) return false;
    const std::size_t bytes = size_of(stream, done, r.slot_bytes);
    std::byte* p = r.slot(i);
    for (std::size_t k = 0; k < bytes; ++k) p[k] = byte_of(stream, done, k);
    r.sizes[i % r.depth] = static_cast<std::uint32_t>(bytes);
    r.store(r.head, i + 1);
    ++done;
    return true;
  }
};

struct Consumer {
  Ring* ring;
  int stream;
  std::uint64_t n;
  std::uint64_t done = 0;
  bool step(std::string* problem) {  // acquire head, check the slot, release tail
    Ring& r = *ring;
    const std::uint64_t i = r.base + done;
    if (r.load(r.head) <= i) return false;
    const std::size_t want = size_of(stream, done, r.slot_bytes);
    const std::size_t got = r.sizes[i % r.depth];
    const std::string where =
        "stream " + std::to_string(stream) + " message " + std::to_string(done);
    if (got != want && problem->empty()) {
      *problem = where + ": size " + std::to_string(got) + ", expected " + std::to_string(want);
    }
    const std::byte* p = r.slot(i);
    for (std::size_t k = 0; k < want && problem->empty(); ++k) {
      if (p[k] != byte_of(stream, done, k))
        *problem = where + " byte " + std::to_string(k) + " differs";
    }
    r.store(r.tail, i + 1);
    ++done;
    return true;
  }
};

// A thread playing one GPU: services its rings side by side without blocking
// on any one. Result: "" when every stream finished (or `stop` was set),
// "aborted" when the abort flag went up, else what went wrong.
class Kernel {
 public:
  Kernel(std::vector<Producer> out, std::vector<Consumer> in, const volatile int* abort,
         const std::atomic<bool>* stop = nullptr)
      : out_(std::move(out)), in_(std::move(in)) {
    thread_ = std::thread([this, abort, stop] { result_ = run(abort, stop); });
  }
  ~Kernel() { join(); }
  const std::string& join() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  std::string run(const volatile int* abort, const std::atomic<bool>* stop) {
    const auto start = Clock::now();
    auto last_move = start;
    std::string problem;
    for (;;) {
      bool finished = true, moved = false;
      for (Producer& p : out_) {
        for (int k = 0; k < 64 && p.done < p.n && p.step(); ++k) moved = true;
        finished = finished && p.done == p.n;
      }
      for (Consumer& c : in_) {
        for (int k = 0; k < 64 && c.done < c.n && c.step(&problem); ++k) moved = true;
        finished = finished && c.done == c.n;
      }
      if (!problem.empty()) return problem;
      if (finished || (stop && stop->load())) return "";
      if (abort && raised(abort)) return "aborted";
      const auto now = Clock::now();
      if (moved) last_move = now;
      if (now - last_move > kDeadline) return "kernel stalled: " + progress();
      if (now - start > kOverall) return "kernel too slow: " + progress();
      if (!moved) std::this_thread::yield();
    }
  }
  std::string progress() const {
    std::string s;
    for (const Producer& p : out_) s += "sent " + std::to_string(p.done) + " ";
    for (const Consumer& c : in_) s += "received " + std::to_string(c.done) + " ";
    return s;
  }

  std::vector<Producer> out_;
  std::vector<Consumer> in_;
  std::string result_;
  std::thread thread_;
};

// Polls until `done` holds or the deadline passes.
bool eventually(const std::function<bool()>& done, Clock::duration within = kDeadline) {
  const auto until = Clock::now() + within;
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

transport::TcpOptions tcp_options(std::size_t slot, int depth, double timeout_s) {
  transport::TcpOptions o;
  o.slot_bytes = slot;
  o.depth = depth;
  o.sockets_per_peer = 2;
  o.ifname = "lo";  // hermetic
  o.timeout_s = timeout_s;
  return o;
}

// Two tcp transports on the loopback interface. The bells outlive the
// transports, hence the proxies.
using NetPair = test::TransportSet<transport::Transport>;
NetPair tcp_pair(const transport::TcpOptions& o) {
  return NetPair(2, [o](bootstrap::OutOfBand& oob, transport::Doorbell& bell) {
    return transport::make_tcp_transport(oob, bell, o);
  });
}

// Rank 0 and rank 1 exchange n messages both ways on `channels` channels
// through proxies a (rank 0) and b (rank 1). Stream 2c: 0 -> 1, 2c+1: 1 -> 0.
// Channel 1 continues counters from a large base. The rings go into `rings`,
// which must outlive the proxies: they poll the counters until they stop.
// Returns the problems.
std::vector<std::string> exchange(std::deque<Ring>& rings, HostProxy& a, HostProxy& b,
                                  const volatile int* abort_a, const volatile int* abort_b,
                                  std::size_t slot, std::uint32_t depth, int channels,
                                  std::uint64_t n) {
  // Per channel: a_out, b_in, b_out, a_in.
  std::vector<Producer> a_out, b_out;
  std::vector<Consumer> a_in, b_in;
  for (int c = 0; c < channels; ++c) {
    const std::uint64_t base = c == 1 ? (std::uint64_t{1} << 40) + 5 : 0;
    Ring& ao = rings.emplace_back(slot, depth, base);
    Ring& bi = rings.emplace_back(slot, depth, base);
    Ring& bo = rings.emplace_back(slot, depth, base);
    Ring& ai = rings.emplace_back(slot, depth, base);
    a.add_send(1, c, ao.view());
    b.add_recv(0, c, bi.view());
    b.add_send(0, c, bo.view());
    a.add_recv(1, c, ai.view());
    a_out.push_back({&ao, 2 * c, n});
    b_in.push_back({&bi, 2 * c, n});
    b_out.push_back({&bo, 2 * c + 1, n});
    a_in.push_back({&ai, 2 * c + 1, n});
  }
  a.kick();
  b.kick();
  std::vector<std::string> problems;
  {
    Kernel ka(a_out, a_in, abort_a), kb(b_out, b_in, abort_b);
    for (const std::string* r : {&ka.join(), &kb.join()}) {
      if (!r->empty()) problems.push_back(*r);
    }
  }
  for (Ring& r : rings) {
    if (r.load(r.head) != r.base + n || r.load(r.tail) != r.base + n) {
      problems.push_back("a ring ends at head " + std::to_string(r.head - r.base) + " tail " +
                         std::to_string(r.tail - r.base) + ", not " + std::to_string(n));
    }
  }
  if (!a.error().empty()) problems.push_back("proxy a: " + a.error());
  if (!b.error().empty()) problems.push_back("proxy b: " + b.error());
  if (raised(abort_a) || raised(abort_b)) problems.push_back("an abort flag went up");
  return problems;
}

// `net` wrapped so that its polls (try_acquire, try_peek) are counted in
// *counts, which outlive the proxy that will own it.
std::unique_ptr<transport::Transport> counted(
    std::unique_ptr<transport::Transport> net,
    std::shared_ptr<const transport::FaultCounts>* counts) {
  auto f = std::make_unique<transport::FaultTransport>(std::move(net),
                                                       std::vector<transport::FaultRule>{});
  *counts = f->counts();
  return f;
}

}  // namespace

TEST_CASE("host proxy over loopback: both ways, 3 channels, depths 1 2 8, every byte in order",
          "[proxy]") {
  for (std::uint32_t depth : {1u, 2u, 8u}) {
    INFO("ring depth " << depth);
    volatile int abort_a = 0, abort_b = 0;
    std::deque<Ring> rings;
    // The rings' slots (200 B) are smaller than the transport's (256 B).
    auto nets = transport::make_loopback_transports(2, 256, 3);
    HostProxy a(std::move(nets[0]), 200, depth, &abort_a);
    HostProxy b(std::move(nets[1]), 200, depth, &abort_b);
    // Depth 1 moves in lock step, four thread hand-offs a message: fewer of
    // them keep it quick on a loaded machine, and still cover every size.
    const std::uint64_t n = depth == 1 ? 3000 : 10000;
    const auto problems = exchange(rings, a, b, &abort_a, &abort_b, 200, depth, 3, n);
    INFO((problems.empty() ? std::string("none") : problems[0]));
    CHECK(problems.empty());
  }
}

// Two proxies over a network pair exchange 3000 messages each way on 2
// channels; the first problem, or "none".
std::string proxies_exchange(NetPair& pair) {
  volatile int abort_a = 0, abort_b = 0;
  std::deque<Ring> rings;
  HostProxy a(std::move(pair.t[0]), 4096, 4, &abort_a);
  HostProxy b(std::move(pair.t[1]), 4096, 4, &abort_b);
  const auto problems = exchange(rings, a, b, &abort_a, &abort_b, 4096, 4, 2, 3000);
  return problems.empty() ? std::string("none") : problems[0];
}

TEST_CASE("host proxy over tcp: both ways, 2 channels, every byte in order", "[proxy][tcp]") {
  auto pair = tcp_pair(tcp_options(4096, 2, 5));
  CHECK(proxies_exchange(pair) == "none");
}

#ifdef COLOSSUS_TEST_UCX
TEST_CASE("host proxy over ucx: both ways, 2 channels, every byte in order", "[proxy][ucx]") {
  for (const char* tls : {"tcp", "sm"}) {
    INFO("UCX_TLS=" << tls);
    transport::UcxOptions o;
    o.slot_bytes = 4096;
    o.depth = 2;
    o.timeout_s = 5;
    o.tls = tls;
    NetPair pair(2, [o](bootstrap::OutOfBand& oob, transport::Doorbell& bell) {
      return transport::make_ucx_transport(oob, bell, o);
    });
    CHECK(proxies_exchange(pair) == "none");
  }
}
#endif

TEST_CASE("host proxy: a peer that goes away mid-stream aborts the survivor, naming it",
          "[proxy][tcp]") {
  auto pair = tcp_pair(tcp_options(4096, 2, 1));  // timeout_s bounds the dying side's flush
  volatile int abort_a = 0, abort_b = 0;
  Ring ao(4096, 2), ai(4096, 2), bo(4096, 2), bi(4096, 2);
  std::shared_ptr<const transport::FaultCounts> b_counts;
  auto a = std::make_unique<HostProxy>(std::move(pair.t[0]), 4096, 2, &abort_a);
  auto b = std::make_unique<HostProxy>(counted(std::move(pair.t[1]), &b_counts), 4096, 2, &abort_b);
  a->add_send(1, 0, ao.view());
  a->add_recv(1, 0, ai.view());
  b->add_send(0, 0, bo.view());
  b->add_recv(0, 0, bi.view());
  a->kick();
  b->kick();
  const std::uint64_t forever = UINT64_MAX;
  std::atomic<bool> stop_b{false};
  Kernel ka({{&ao, 0, forever}}, {{&ai, 1, forever}}, &abort_a);
  Kernel kb({{&bo, 1, forever}}, {{&bi, 0, forever}}, &abort_b, &stop_b);
  // Streaming both ways...
  CHECK(eventually([&] { return ai.load(ai.tail) >= 200 && bi.load(bi.tail) >= 200; }));
  // ...when rank 1's GPU stops and its proxy and transport go away.
  stop_b = true;
  CHECK(kb.join().empty());
  // Its proxy stops at its next look: the round under way and at most one
  // more. A round polls each of its two connections at most depth + 1 = 3
  // times (messages the kernel left, then a Pending), so at most 12 polls;
  // a proxy that kept going would poll without end. (Its tcp transport's
  // flush on the way out is bounded by timeout_s.)
  const std::uint64_t b_polls = b_counts->polls;
  b.reset();
  INFO("rank 1's proxy polled " << b_counts->polls - b_polls << " times while stopping");
  CHECK(b_counts->polls - b_polls <= 12);

  CHECK(eventually([&] { return raised(&abort_a) && !a->error().empty(); }));
  const std::string err = a->error();
  INFO("error: " << err);
  CHECK(err.rfind("peer 1 channel 0: ", 0) == 0);
  CHECK(err.find("peer failed") != std::string::npos);
  CHECK(ka.join() == "aborted");  // the kernel's waits saw the flag
  CHECK_FALSE(raised(&abort_b));  // rank 1 left cleanly; nothing failed there
}

TEST_CASE("host proxy: bad sizes, bad peers and bad rings fail loudly", "[proxy]") {
  SECTION("the kernel publishes a size larger than a slot") {
    volatile int abort = 0;
    auto nets = transport::make_loopback_transports(2, 256, 2);
    Ring out(128, 2);
    HostProxy p(std::move(nets[0]), 128, 2, &abort);
    p.add_send(1, 0, out.view());
    out.sizes[0] = 129;
    out.store(out.head, 1);
    p.kick();
    CHECK(eventually([&] { return raised(&abort) && !p.error().empty(); }));
    CHECK(p.error().rfind("peer 1 channel 0: ", 0) == 0);
    CHECK(p.error().find("129") != std::string::npos);
    CHECK(out.load(out.tail) == 0);  // not shipped
  }
  SECTION("the peer sends more than the ring's slot holds") {
    volatile int abort = 0;
    auto nets = transport::make_loopback_transports(2, 256, 2);
    Ring in(128, 2);
    HostProxy p(std::move(nets[1]), 128, 2, &abort);
    p.add_recv(0, 3, in.view());
    // Rank 0 is this thread, speaking the transport directly.
    auto tx = nets[0]->connect_send(1, 3);
    void* slot = nullptr;
    REQUIRE(tx->try_acquire(&slot) == transport::Status::Ok);
    REQUIRE(tx->commit(100) == transport::Status::Ok);  // fits: delivered
    REQUIRE(tx->try_acquire(&slot) == transport::Status::Ok);
    REQUIRE(tx->commit(200) == transport::Status::Ok);  // does not
    CHECK(eventually([&] { return raised(&abort); }));
    CHECK(p.error().rfind("peer 0 channel 3: ", 0) == 0);
    CHECK(in.load(in.head) == 1);
    CHECK(in.sizes[0] == 100);
  }
  SECTION("a connect the transport refuses") {
    auto pair = tcp_pair(tcp_options(4096, 2, 5));
    volatile int abort = 0;
    Ring out(4096, 2);
    HostProxy p(std::move(pair.t[0]), 4096, 2, &abort);
    p.add_send(5, 0, out.view());  // a two-rank job has no rank 5
    CHECK(eventually([&] { return raised(&abort) && !p.error().empty(); }));
    INFO(p.error());
    CHECK(p.error().rfind("peer 5 channel 0: connect failed", 0) == 0);
  }
  SECTION("rings that cannot work are refused up front") {
    auto nets = transport::make_loopback_transports(1, 256, 2);
    CHECK_THROWS_AS(HostProxy(std::move(nets[0]), 512, 2, nullptr), Error);  // slot too large
    nets = transport::make_loopback_transports(1, 256, 2);
    CHECK_THROWS_AS(HostProxy(std::move(nets[0]), 256, 0, nullptr), Error);
    nets = transport::make_loopback_transports(1, 256, 2);
    HostProxy p(std::move(nets[0]), 256, 2, nullptr);
    Ring r(256, 2);
    ProxyRing no_sizes = r.view();
    no_sizes.sizes = nullptr;
    CHECK_THROWS_AS(p.add_send(0, 0, no_sizes), Error);  // the sender's sizes are needed
    p.add_recv(0, 0, no_sizes);                          // the receiver's are optional
    CHECK(p.error().empty());
  }
}

TEST_CASE("host proxy: idle it sleeps between looks, traffic needs no kick, it stops at once",
          "[proxy]") {
  volatile int abort_a = 0, abort_b = 0;
  Ring ao(256, 4), ai(256, 4), bo(256, 4), bi(256, 4);
  auto nets = transport::make_loopback_transports(2, 256, 4);
  std::shared_ptr<const transport::FaultCounts> ca, cb;
  auto a = std::make_unique<HostProxy>(counted(std::move(nets[0]), &ca), 256, 4, &abort_a);
  auto b = std::make_unique<HostProxy>(counted(std::move(nets[1]), &cb), 256, 4, &abort_b);
  a->add_send(1, 0, ao.view());
  a->add_recv(1, 0, ai.view());
  b->add_send(0, 0, bo.view());
  b->add_recv(0, 0, bi.view());
  auto run = [&](std::uint64_t from, std::uint64_t to) {
    Producer pa{&ao, 0, to, from}, pb{&bo, 1, to, from};
    Consumer ca{&ai, 1, to, from}, cb{&bi, 0, to, from};
    Kernel ka({pa}, {ca}, &abort_a), kb({pb}, {cb}, &abort_b);
    return ka.join() + kb.join();
  };
  a->kick();
  b->kick();
  CHECK(run(0, 100).empty());  // connected and moving

  // Past the hot window, both proxies back off to sleeping. An idle round
  // polls a proxy's one receiving connection once (its kernel sends
  // nothing), and a cold proxy sleeps kMaxSleep between rounds unless rung
  // (nothing rings here): so at most one poll per kMaxSleep of the window,
  // and one more for a round under way (measured: about 0.8 per kMaxSleep).
  // The bound allows twice that; a proxy that yielded or spun instead would
  // poll orders of magnitude more. The window is what the test slept, which
  // a loaded machine only lengthens: the bound only loosens there.
  std::this_thread::sleep_for(HostProxy::kHotPoll * 2);
  const auto t0 = Clock::now();
  const std::uint64_t polls0 = ca->polls + cb->polls;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::uint64_t polls = ca->polls + cb->polls - polls0;
  const auto rounds = static_cast<std::uint64_t>((Clock::now() - t0) / HostProxy::kMaxSleep);
  INFO("two idle proxies polled " << polls << " times in " << rounds << " x kMaxSleep");
  CHECK(polls <= 2 * 2 * (rounds + 1));

  // Without a kick, cold proxies still notice the kernels' new messages.
  CHECK(run(100, 300).empty());
  CHECK(a->error().empty());
  CHECK(b->error().empty());

  // Cold again, in its longest sleeps: stopping wakes it, and it looks at
  // most once more (the round under way, one poll each) before it exits.
  std::this_thread::sleep_for(HostProxy::kHotPoll * 2);
  const std::uint64_t a_polls = ca->polls;
  a.reset();
  CHECK(ca->polls - a_polls <= 2);
  const std::uint64_t b_polls = cb->polls;
  b.reset();
  CHECK(cb->polls - b_polls <= 2);
  CHECK(abort_a == 0);
  CHECK_FALSE(raised(&abort_b));
}
