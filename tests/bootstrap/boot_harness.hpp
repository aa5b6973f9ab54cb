// boot_harness.hpp: ranks of a real TCP bootstrap as threads of the test,
// and a raw client for playing a stranger at rank 0's port.
//
// Catch2 assertions are not thread-safe: rank bodies report what went wrong
// as text; the test thread asserts.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bootstrap/bootstrap.hpp"
#include "bootstrap/frame.hpp"
#include "bootstrap/unique_id.hpp"
#include "colossus/error.hpp"

namespace colossus::test {

using bootstrap::Bootstrap;
using bootstrap::UniqueId;

struct RankResult {
  bool ok = false;
  ErrorCode code = ErrorCode::Success;
  std::string message;  // the Error's, or the body's complaint
  double seconds = 0;   // create + body
};

// Body: after create, returns "" when all was as expected, else what was not.
using RankBody = std::function<std::string(Bootstrap& b)>;

inline RankResult run_rank(const UniqueId& id, int rank, int nranks, double timeout_s,
                           const RankBody& body) {
  RankResult r;
  const auto start = std::chrono::steady_clock::now();
  try {
    auto b = Bootstrap::create(id, rank, nranks, timeout_s);
    r.message = body ? body(*b) : "";
    r.ok = r.message.empty();
  } catch (const Error& e) {
    r.code = e.code();
    r.message = e.what();
  } catch (const std::exception& e) {
    r.code = ErrorCode::InternalError;
    r.message = e.what();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Runs `ranks` (a subset of 0..nranks-1) on threads; results by position.
inline std::vector<RankResult> run_ranks(const UniqueId& id, const std::vector<int>& ranks,
                                         int nranks, double timeout_s, const RankBody& body) {
  std::vector<RankResult> results(ranks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = run_rank(id, ranks[i], nranks, timeout_s, body); });
  }
  for (auto& t : threads) t.join();
  return results;
}

inline std::vector<int> all_ranks(int n) {
  std::vector<int> v;
  for (int r = 0; r < n; ++r) v.push_back(r);
  return v;
}

inline std::string describe(const std::vector<RankResult>& results) {
  std::string out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    out +=
        "#" + std::to_string(i) + (results[i].ok ? " ok" : " FAILED: " + results[i].message) + "\n";
  }
  return out;
}

// A plain blocking TCP client to 127.0.0.1:port: the stranger.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    timeval tv{10, 0};  // a test must not hang on a read that never comes
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  // "127.0.0.1:54321": how rank 0's log names this client.
  std::string local_address() const {
    sockaddr_in me{};
    socklen_t len = sizeof me;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&me), &len);
    return "127.0.0.1:" + std::to_string(ntohs(me.sin_port));
  }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Everything until EOF or the 10 s receive timeout.
  std::string read_all() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool connected_ = false;
};

inline std::string hello_frame(const bootstrap::Hello& h) {
  return bootstrap::whole_frame(bootstrap::FrameType::Hello, bootstrap::encode_hello(h));
}

inline bootstrap::Hello valid_hello(const UniqueId& id, int rank, int nranks) {
  bootstrap::Hello h;
  h.rank = static_cast<uint32_t>(rank);
  h.nranks = static_cast<uint32_t>(nranks);
  h.secret = id.secret;
  h.who = "test stranger";
  return h;
}

}  // namespace colossus::test
