// fuzz_bootstrap_frame: bytes a stranger sends to rank 0's rendezvous port.
//
// The input is written into one end of a socket pair and read by the
// bootstrap's own FrameReader, as rank 0 reads an unauthenticated
// connection (payloads bounded by kMaxHelloBytes). A completed frame's
// payload goes through the decoder its type calls for (Hello, Reject,
// Abort, and a watch's Notice). Properties checked:
// no crash or sanitizer report, the reader never takes more bytes than were
// sent, a complete frame never exceeds the bound, and a Hello that decodes
// re-encodes to a payload that decodes to the same fields.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bootstrap/frame.hpp"

using namespace colossus;
using namespace colossus::bootstrap;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("fuzz_bootstrap_frame: property failed: %s\n", what);
    std::abort();
  }
}

void decode_payload(uint32_t type, const std::string& payload) {
  if (type == static_cast<uint32_t>(FrameType::Hello)) {
    Hello h;
    if (decode_hello(payload, &h) && h.version == kProtocolVersion) {
      Hello again;
      check(decode_hello(encode_hello(h), &again), "a decoded Hello re-encodes");
      check(again.rank == h.rank && again.nranks == h.nranks && again.secret == h.secret &&
                again.who == h.who,
            "a Hello survives a round trip");
    }
  } else if (type == static_cast<uint32_t>(FrameType::Reject) ||
             type == static_cast<uint32_t>(FrameType::Abort)) {
    ErrorCode code{};
    std::string message;
    decode_failure(payload, &code, &message);
  } else if (type == static_cast<uint32_t>(FrameType::Notice)) {
    // A watched connection's failure notice: decoded or refused with a
    // reason; one that decodes survives a round trip.
    base::Failure f;
    std::string why;
    if (decode_notice(payload, &f, &why)) {
      base::Failure again;
      check(decode_notice(encode_notice(f), &again, &why), "a decoded Notice re-encodes");
      check(again.rank == f.rank && again.reporter == f.reporter && again.kind == f.kind &&
                again.code == f.code && again.detail == f.detail,
            "a Notice survives a round trip");
    } else {
      check(!why.empty(), "a refused Notice says why");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  FrameReader reader(kMaxHelloBytes);
  std::size_t sent = 0;
  bool shut = false;
  int after_hangup = 0;
  FrameReader::State state = FrameReader::State::NeedMore;
  while (state == FrameReader::State::NeedMore) {
    if (sent < size) {
      const ssize_t n = ::send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<std::size_t>(n);
    } else if (!shut) {
      ::shutdown(fds[1], SHUT_WR);  // the stranger hangs up
      shut = true;
    }
    state = reader.pump(fds[0]);
    check(reader.bytes_received() <= sent, "the reader takes only what was sent");
    if (shut) check(++after_hangup < 4, "a reader at the end of the stream stops waiting");
  }
  if (state == FrameReader::State::Complete) {
    const uint32_t type = reader.type();
    const std::string payload = reader.take_payload();
    check(payload.size() <= kMaxHelloBytes, "a frame stays within its bound");
    decode_payload(type, payload);
  } else {
    check(state != FrameReader::State::Malformed || !reader.problem().empty(),
          "a malformed frame says what is wrong");
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
