// The tcp transport, piece by piece: interface selection, addresses, the
// striping arithmetic, the FIFO protocol endpoint by endpoint, and what it
// does with strangers, mismatched peers and shutdown. (Collectives over it
// are swept in collectives/collectives_test.cc, failed peers in
// transports/peer_failure_test.cc.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "bootstrap/interfaces.hpp"
#include "bootstrap/socket.hpp"
#include "catch.hpp"
#include "collectives/harness.hpp"
#include "support/tcp_support.hpp"
#include "support/thread_oob.hpp"
#include "transports/tcp/wire.hpp"

using namespace colossus;
using transport::Status;
using transport::TcpOptions;
using transport::TcpTransport;
namespace tcp = transport::tcp;

namespace {

bootstrap::NetInterface iface(const char* name, bool loopback = false, bool up = true) {
  bootstrap::NetInterface i;
  i.name = name;
  i.loopback = loopback;
  i.up = up;
  return i;
}

// n transports over one ThreadOobGroup, built collectively, with their bells.
struct Pair {
  explicit Pair(int n, const std::vector<TcpOptions>& o)
      : g(n), bells(static_cast<std::size_t>(n)) {
    std::vector<std::string> errors(static_cast<std::size_t>(n));
    t.resize(static_cast<std::size_t>(n));
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
      threads.emplace_back([&, r] {
        const auto ur = static_cast<std::size_t>(r);
        try {
          t[ur] = std::make_unique<TcpTransport>(g.oob(r), bells[ur], o[ur]);
        } catch (const std::exception& e) {
          errors[ur] = e.what();
        }
      });
    }
    for (auto& th : threads) th.join();
    for (auto& e : errors) {
      if (!e.empty()) throw std::runtime_error(e);
    }
  }
  test::ThreadOobGroup g;
  std::deque<transport::Doorbell> bells;
  std::vector<std::unique_ptr<TcpTransport>> t;
};

TcpOptions small_options(std::size_t slot = 256, int depth = 3, int sockets = 2) {
  TcpOptions o;
  o.slot_bytes = slot;
  o.depth = depth;
  o.sockets_per_peer = sockets;
  o.ifname = "lo";
  o.timeout_s = 10;
  return o;
}

// A raw TCP client, as a stranger on the network would be.
int dial(const std::string& endpoint) {
  bootstrap::Endpoint a;
  REQUIRE(bootstrap::parse_endpoint(endpoint, &a));
  const int fd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) == 0);
  return fd;
}

// True when the peer closed `fd` within `seconds`.
bool closed_by_peer(int fd, double seconds) {
  return test::eventually(
      [&] {
        char b;
        const ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      },
      seconds);
}

}  // namespace

TEST_CASE("tcp interface filter: NCCL_SOCKET_IFNAME syntax", "[tcp]") {
  auto prefix = bootstrap::IfnameFilter::parse("eth");
  CHECK(prefix.matches("eth0"));
  CHECK(prefix.matches("eth10"));
  CHECK_FALSE(prefix.matches("ens3"));
  CHECK_FALSE(prefix.exclude());

  auto excl = bootstrap::IfnameFilter::parse("^docker,lo");
  CHECK(excl.exclude());
  CHECK(excl.names() == std::vector<std::string>{"docker", "lo"});
  CHECK(excl.matches("eth0"));
  CHECK_FALSE(excl.matches("docker0"));
  CHECK_FALSE(excl.matches("lo"));

  auto exact = bootstrap::IfnameFilter::parse("=eth0");
  CHECK(exact.exact());
  CHECK(exact.matches("eth0"));
  CHECK_FALSE(exact.matches("eth01"));
  CHECK_FALSE(exact.matches("eth"));

  auto not_exact = bootstrap::IfnameFilter::parse("^=eth0");
  CHECK((not_exact.exclude() && not_exact.exact()));
  CHECK(not_exact.matches("eth01"));
  CHECK_FALSE(not_exact.matches("eth0"));

  auto list = bootstrap::IfnameFilter::parse("ib, eth1,");
  CHECK(list.names() == std::vector<std::string>{"ib", "eth1"});
  CHECK(list.matches("ib0"));
  CHECK(list.matches("eth1"));
  CHECK_FALSE(list.matches("eth0"));
  CHECK(bootstrap::IfnameFilter::parse("").is_default());
}

TEST_CASE("tcp interface choice: default skips loopback and bridges, spec picks the first match",
          "[tcp]") {
  const std::vector<bootstrap::NetInterface> all = {iface("lo", true), iface("docker0"),
                                                    iface("eth0", false, false), iface("ens3"),
                                                    iface("eth1")};
  auto pick = [&](const std::vector<bootstrap::NetInterface>& c, const char* spec) {
    const bootstrap::NetInterface* i = bootstrap::choose_interface(c, spec);
    return i ? i->name : std::string("(none)");
  };
  CHECK(pick(all, "") == "ens3");  // eth0 is down, docker0 is a bridge
  CHECK(pick(all, "eth") == "eth1");
  CHECK(pick(all, "^docker,lo") == "ens3");
  CHECK(pick(all, "=eth1") == "eth1");
  CHECK(pick(all, "=eth") == "(none)");
  CHECK(pick(all, "lo") == "lo");
  CHECK(pick(all, "^ens,docker,eth") == "lo");
  CHECK(pick({iface("lo", true), iface("docker0")}, "") == "lo");  // nothing else: loopback
  CHECK(pick({}, "") == "(none)");
  // The real machine: loopback is always there and up.
  const auto here = bootstrap::list_interfaces();
  CHECK(pick(here, "=lo") == "lo");
}

TEST_CASE("tcp endpoints format and parse, garbage rejected", "[tcp]") {
  bootstrap::Endpoint a;
  REQUIRE(bootstrap::parse_endpoint("127.0.0.1:5000", &a));
  CHECK(a.str() == "127.0.0.1:5000");
  REQUIRE(bootstrap::parse_endpoint("[fd00::2]:65535", &a));
  CHECK(a.ss.ss_family == AF_INET6);
  CHECK(a.str() == "[fd00::2]:65535");
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "host.example:80", "1.2.3.4:8x", "[::1:80", "fd00::2:80", ":80"}) {
    INFO(bad);
    CHECK_FALSE(bootstrap::parse_endpoint(bad, &a));
  }
}

TEST_CASE("tcp striping: pieces tile the message, small ones stay whole", "[tcp]") {
  CHECK(tcp::piece_of(100, 4, 0).len == 100);
  CHECK(tcp::piece_of(100, 4, 1).len == 0);
  CHECK(tcp::piece_of(tcp::kStripeMin, 2, 0).len == tcp::kStripeMin);
  CHECK(tcp::frame_bytes(100, 4, 0) == 108);
  CHECK(tcp::frame_bytes(100, 4, 3) == 0);
  for (std::size_t bytes : {tcp::kStripeMin + 1, std::size_t{512} << 10, std::size_t{1000003}}) {
    for (int n : {1, 2, 3, 8}) {
      std::size_t next = 0;
      for (int k = 0; k < n; ++k) {
        const tcp::Piece p = tcp::piece_of(bytes, n, k);
        INFO(bytes << " bytes, socket " << k << "/" << n);
        CHECK(p.begin == (p.len ? next : p.begin));
        // Every piece but the one that ends the message is whole pages.
        if (p.len && p.begin + p.len < bytes) CHECK(p.len % tcp::kStripeAlign == 0);
        next += p.len;
      }
      CHECK(next == bytes);
      if (n > 1) CHECK(tcp::piece_of(bytes, n, 1).len > 0);
    }
  }
}

TEST_CASE("tcp options come from the environment", "[tcp][config]") {
  setenv("COLOSSUS_SOCKET_IFNAME", "^docker,lo", 1);
  setenv("COLOSSUS_SOCKET_NSOCKS", "4", 1);
  // The communicator copies these into TcpOptions (lib/comm/init.cc).
  base::Config c = base::Config::from_env();
  CHECK(c.socket_ifname == "^docker,lo");
  CHECK(c.socket_nsocks == 4);
  setenv("COLOSSUS_SOCKET_NSOCKS", "0", 1);
  c = base::Config::from_env();
  CHECK(c.socket_nsocks == base::Config{}.socket_nsocks);
  std::string all;
  for (const auto& w : c.warnings) all += w + "\n";
  CHECK(all.find("COLOSSUS_SOCKET_NSOCKS=0 ignored") != std::string::npos);
  CHECK(all.find("unknown variable") == std::string::npos);
  unsetenv("COLOSSUS_SOCKET_IFNAME");
  unsetenv("COLOSSUS_SOCKET_NSOCKS");
}

TEST_CASE("tcp endpoints: lazy connect in either order, FIFO order, striping, bells", "[tcp]") {
  TcpOptions o = small_options(256 << 10, 3, 3);
  Pair p(2, {o, o});
  TcpTransport& a = *p.t[0];
  TcpTransport& b = *p.t[1];
  CHECK(std::string(a.name()) == "tcp");
  CHECK(&a.doorbell() == &p.bells[0]);
  CHECK(a.interface_name() == "lo");
  CHECK(a.listen_address().rfind("127.", 0) == 0);

  // Sender first: the connection is not up yet, but staging slots are local.
  auto tx = a.connect_send(1, 0);
  void* slot = nullptr;
  // Messages of every shape: empty, tiny, at the stripe threshold, striped
  // over 3 sockets, and a full slot. Each byte tells which message it is in.
  const std::vector<std::size_t> sizes = {
      0, 1, 4096, tcp::kStripeMin, tcp::kStripeMin + 1, 200000, 256 << 10, 7, 256 << 10};
  auto byte_of = [](std::size_t m, std::size_t i) {
    return static_cast<unsigned char>(m * 31 + i * 7);
  };
  std::size_t sent = 0;
  auto send_some = [&] {
    while (sent < sizes.size() && tx->try_acquire(&slot) == Status::Ok) {
      for (std::size_t i = 0; i < sizes[sent]; ++i)
        static_cast<unsigned char*>(slot)[i] = byte_of(sent, i);
      REQUIRE(tx->commit(sizes[sent]) == Status::Ok);
      ++sent;
    }
  };
  send_some();
  // Depth 3: three fit at once; more only as the progress thread drains
  // them into the socket (it may already have: the listener is up).
  CHECK(sent >= 3);

  const uint32_t bell_before = p.bells[1].epoch();
  auto rx = b.connect_recv(0, 0);
  std::size_t got = 0;
  std::string problem;
  REQUIRE(test::eventually([&] {
    send_some();
    const void* data = nullptr;
    std::size_t bytes = 0;
    while (rx->try_peek(&data, &bytes) == Status::Ok) {
      if (bytes != sizes[got])
        problem = "message " + std::to_string(got) + " has " + std::to_string(bytes) + " bytes";
      for (std::size_t i = 0; i < bytes && problem.empty(); ++i) {
        if (static_cast<const unsigned char*>(data)[i] != byte_of(got, i)) {
          problem = "message " + std::to_string(got) + " byte " + std::to_string(i) + " differs";
        }
      }
      REQUIRE(rx->release() == Status::Ok);
      ++got;
    }
    return got == sizes.size();
  }));
  CHECK(problem.empty());
  CHECK(p.bells[1].epoch() != bell_before);  // arrivals rang the receiver
  // The sender counts a message once its last byte is written, which may be
  // a moment after the receiver has it.
  CHECK(test::eventually([&] { return a.stats().messages_sent == sizes.size(); }));
  CHECK(a.stats().messages_striped == 4);  // kStripeMin + 1, 200000 and two full slots
  CHECK(b.stats().messages_received == sizes.size());
  CHECK(b.stats().connections_accepted == 3);

  // Receiver first: a stream the receiver opened before the sender connects.
  auto rx1 = a.connect_recv(1, 5);
  auto tx1 = b.connect_send(0, 5);
  REQUIRE(tx1->try_acquire(&slot) == Status::Ok);
  std::memcpy(slot, "hello", 5);
  REQUIRE(tx1->commit(5) == Status::Ok);
  const void* data = nullptr;
  std::size_t bytes = 0;
  REQUIRE(test::eventually([&] { return rx1->try_peek(&data, &bytes) == Status::Ok; }));
  CHECK(std::string(static_cast<const char*>(data), bytes) == "hello");
  CHECK(rx1->release() == Status::Ok);
  CHECK(rx1->try_peek(&data, &bytes) == Status::Pending);

  CHECK(tx1->commit((256 << 10) + 1) == Status::Error);  // larger than a slot
  CHECK_THROWS_AS(a.connect_send(2, 0), Error);
  CHECK_THROWS_AS(a.connect_recv(-1, 0), Error);
  CHECK_THROWS_AS(a.connect_send(1, -1), Error);
}

TEST_CASE("tcp: a full receiver holds the sender back and nothing is lost or reordered", "[tcp]") {
  TcpOptions o = small_options(64 << 10, 2, 2);
  Pair p(2, {o, o});
  auto tx = p.t[0]->connect_send(1, 0);
  auto rx = p.t[1]->connect_recv(0, 0);
  // Far more than the slots and socket buffers hold: the receiver does not
  // read at first, so the sender must stall (Pending), then drain.
  const int total = 2000;
  int sent = 0, received = 0;
  void* slot = nullptr;
  auto push = [&] {
    while (sent < total && tx->try_acquire(&slot) == Status::Ok) {
      std::memcpy(slot, &sent, sizeof sent);
      REQUIRE(tx->commit(64 << 10) == Status::Ok);
      ++sent;
    }
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) push();
  CHECK(sent < total);  // stalled: TCP's window and the full slots held it
  CHECK(sent > 2);      // but well past the slot count: the socket buffers took some
  bool in_order = true;
  REQUIRE(test::eventually(
      [&] {
        push();
        const void* data = nullptr;
        std::size_t bytes = 0;
        while (rx->try_peek(&data, &bytes) == Status::Ok) {
          int m = -1;
          std::memcpy(&m, data, sizeof m);
          in_order = in_order && m == received && bytes == (64 << 10);
          rx->release();
          ++received;
        }
        return received == total;
      },
      60));
  CHECK(in_order);
}

TEST_CASE("tcp: strangers on the data port are rejected and the job goes on", "[tcp]") {
  Options opt;
  opt.timeout_s = 2;  // also bounds how long a silent client may hold a socket
  opt.slot_bytes = 4096;
  opt.chunk_bytes = 8192;
  test::TcpJob job(3, opt);
  const std::string target = job.tcp[1]->listen_address();

  // 1. Garbage: an HTTP request is not a hello.
  int fd = dial(target);
  const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n..............";
  REQUIRE(::send(fd, http, sizeof http, MSG_NOSIGNAL) > 0);
  CHECK(closed_by_peer(fd, 5));
  ::close(fd);
  // 2. A well-formed hello with the wrong secret.
  tcp::Hello h;
  h.secret = 0x1234;
  h.src = 0;
  h.dst = 1;
  h.channel = 0;
  h.nsockets = 2;
  h.slot_bytes = 4096;
  fd = dial(target);
  REQUIRE(::send(fd, &h, sizeof h, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof h));
  CHECK(closed_by_peer(fd, 5));
  ::close(fd);
  // 3. Connects and closes without a word.
  ::close(dial(target));
  // 4. Half a hello, then silence: dropped at the hello deadline.
  fd = dial(target);
  REQUIRE(::send(fd, &h, 10, MSG_NOSIGNAL) == 10);
  CHECK(closed_by_peer(fd, 10));
  ::close(fd);
  CHECK(test::eventually([&] { return job.tcp[1]->stats().connections_rejected == 4; }));

  // The job connects after all that and runs correctly.
  test::Group group(std::move(job.comms));
  std::vector<std::string> problems;
  for (int c = 0; c < 5; ++c) {
    test::Case k;
    k.coll = static_cast<plan::Collective>(c);
    k.count = 10007;
    k.root = 2;
    for (auto& s : group.run(k)) problems.push_back(s);
  }
  // 5. Garbage while connections are live changes nothing either.
  fd = dial(target);
  REQUIRE(::send(fd, http, sizeof http, MSG_NOSIGNAL) > 0);
  CHECK(closed_by_peer(fd, 5));
  ::close(fd);
  test::Case k;
  k.count = 100003;
  for (auto& s : group.run(k)) problems.push_back(s);
  INFO((problems.empty() ? std::string("none") : problems[0]));
  CHECK(problems.empty());
  CHECK(job.tcp[1]->stats().connections_rejected == 5);
}

TEST_CASE("tcp setup fails on every rank alike when one rank cannot listen", "[tcp]") {
  TcpOptions good = small_options(), bad = small_options();
  bad.ifname = "=no-such-interface0";
  // Every rank throws (a rank left waiting for the others would hang until
  // ctest's timeout ends the test).
  try {
    Pair p(3, {good, bad, good});
    FAIL("setup succeeded");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("no-such-interface0") != std::string::npos);
  }
  TcpOptions invalid = small_options();
  invalid.sockets_per_peer = 0;
  CHECK_THROWS_AS(Pair(1, {invalid}), std::exception);
}

TEST_CASE("tcp: ranks disagreeing on the slot size fail the stream on both ends", "[tcp]") {
  Pair p(2, {small_options(4096), small_options(8192)});
  auto tx = p.t[0]->connect_send(1, 0);
  auto rx = p.t[1]->connect_recv(0, 0);
  void* slot = nullptr;
  const void* data = nullptr;
  std::size_t bytes = 0;
  CHECK(test::eventually([&] { return rx->try_peek(&data, &bytes) == Status::PeerFailed; }, 5));
  CHECK(test::eventually([&] { return tx->try_acquire(&slot) == Status::PeerFailed; }, 5));
}

TEST_CASE("tcp: a destroyed peer turns into PeerFailed and destruction never hangs", "[tcp]") {
  TcpOptions o = small_options(64 << 10, 2, 2);
  o.timeout_s = 1;  // bounds the flush of messages nobody takes
  Pair p(3, {o, o, o});
  auto tx01 = p.t[0]->connect_send(1, 0);
  auto rx10 = p.t[1]->connect_recv(0, 0);
  auto rx02 = p.t[0]->connect_recv(2, 0);
  auto tx20 = p.t[2]->connect_send(0, 0);
  void* slot = nullptr;
  const void* data = nullptr;
  std::size_t bytes = 0;
  // Established streams both ways.
  REQUIRE(tx01->try_acquire(&slot) == Status::Ok);
  REQUIRE(tx01->commit(10) == Status::Ok);
  REQUIRE(tx20->try_acquire(&slot) == Status::Ok);
  REQUIRE(tx20->commit(10) == Status::Ok);
  REQUIRE(test::eventually([&] { return rx10->try_peek(&data, &bytes) == Status::Ok; }));
  REQUIRE(test::eventually([&] { return rx02->try_peek(&data, &bytes) == Status::Ok; }));
  rx10->release();
  rx02->release();

  // Rank 1 stops reading; rank 0 fills everything it can towards it.
  for (int i = 0; i < 200; ++i) {
    if (tx01->try_acquire(&slot) == Status::Ok) tx01->commit(64 << 10);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Rank 0 goes away with messages rank 1 never took: its flush gives up
  // after min(timeout_s, 2 s) without progress (a destructor that hung would
  // end the test at ctest's timeout; no wall-clock bound is asserted here).
  tx01.reset();
  rx02.reset();
  p.t[0].reset();
  // Rank 1 gets what arrived whole, then PeerFailed; rank 2 sees PeerFailed.
  CHECK(test::eventually(
      [&] {
        Status s;
        while ((s = rx10->try_peek(&data, &bytes)) == Status::Ok) rx10->release();
        return s == Status::PeerFailed;
      },
      5));
  CHECK(test::eventually([&] { return tx20->try_acquire(&slot) == Status::PeerFailed; }, 5));
  // A stream to the dead rank made after its death fails at connect time.
  auto late = p.t[2]->connect_send(0, 7);
  CHECK(test::eventually([&] { return late->try_acquire(&slot) == Status::PeerFailed; }, 5));
  rx10.reset();
  tx20.reset();
  late.reset();
  p.t.clear();  // returns: nothing is left to flush to a live peer
}

TEST_CASE("tcp: an idle transport sleeps in poll and costs no CPU", "[tcp]") {
  Options opt;
  opt.timeout_s = 10;
  test::TcpJob job(4, opt);
  test::Group group(std::move(job.comms));
  test::Case k;
  k.count = 100003;
  REQUIRE(group.run(k).empty());  // every stream connected, then nothing to do
  auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  const double before = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double used = cpu_seconds() - before;
  INFO("4 progress threads used " << used << " s of CPU in 1 s idle");
  CHECK(used < 0.05);
}
