#include "bootstrap/frame.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdio>

namespace colossus::bootstrap {

const char* frame_type_name(uint32_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::Hello: return "hello";
    case FrameType::Welcome: return "welcome";
    case FrameType::Reject: return "reject";
    case FrameType::Abort: return "abort";
    case FrameType::Gather: return "allgather contribution";
    case FrameType::GatherTable: return "allgather table";
    case FrameType::Broadcast: return "broadcast";
    case FrameType::BarrierArrive: return "barrier arrival";
    case FrameType::BarrierRelease: return "barrier release";
    case FrameType::Heartbeat: return "heartbeat";
    case FrameType::Notice: return "failure notice";
    case FrameType::Bye: return "goodbye";
  }
  return "unknown frame";
}

Encoder& Encoder::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  return *this;
}

Encoder& Encoder::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  return *this;
}

Encoder& Encoder::bytes(std::string_view v) {
  out_.append(v);
  return *this;
}

bool Decoder::u32(uint32_t* v) {
  if (in_.size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= uint32_t{static_cast<unsigned char>(in_[i])} << (8 * i);
  in_.remove_prefix(4);
  return true;
}

bool Decoder::u64(uint64_t* v) {
  if (in_.size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
  in_.remove_prefix(8);
  return true;
}

bool Decoder::bytes(std::size_t n, std::string_view* v) {
  if (in_.size() < n) return false;
  *v = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

std::string frame_header(FrameType type, uint64_t payload_bytes) {
  return Encoder().u32(kFrameMagic).u32(static_cast<uint32_t>(type)).u64(payload_bytes).take();
}

std::string whole_frame(FrameType type, std::string_view payload) {
  return frame_header(type, payload.size()) + std::string(payload);
}

IoResult send_frame(int fd, FrameType type, std::string_view payload, const Deadline& deadline) {
  return send_all(fd, frame_header(type, payload.size()), payload, deadline);
}

FrameReader::State FrameReader::pump(int fd) {
  for (;;) {
    const bool in_header = header_got_ < kFrameHeaderBytes;
    if (!in_header && payload_got_ == length_) return State::Complete;
    char* into =
        in_header ? reinterpret_cast<char*>(header_) + header_got_ : payload_.data() + payload_got_;
    // Ask for exactly the rest of this frame: what follows belongs to the next.
    const std::size_t want = in_header ? kFrameHeaderBytes - header_got_ : length_ - payload_got_;
    const ssize_t got = ::recv(fd, into, want, 0);
    if (got == 0) return State::Closed;
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return State::NeedMore;
      error_ = errno;
      return errno == ECONNRESET ? State::Closed : State::Failed;
    }
    if (!in_header) {
      payload_got_ += static_cast<std::size_t>(got);
      continue;
    }
    const std::size_t before = header_got_;
    header_got_ += static_cast<std::size_t>(got);
    uint32_t magic = 0;
    if (before < 4 && header_got_ >= 4) {
      Decoder(std::string_view(reinterpret_cast<char*>(header_), 4)).u32(&magic);
      if (magic != kFrameMagic) {
        char text[64];
        std::snprintf(text, sizeof text, "bad magic 0x%08x (not a colossus bootstrap frame)",
                      magic);
        problem_ = text;
        return State::Malformed;
      }
    }
    if (header_got_ == kFrameHeaderBytes) {
      Decoder d(std::string_view(reinterpret_cast<char*>(header_), kFrameHeaderBytes));
      d.u32(&magic);
      d.u32(&type_);
      d.u64(&length_);
      if (length_ > max_payload_) {
        problem_ = "oversized frame: " + std::string(frame_type_name(type_)) + " of " +
                   std::to_string(length_) + " bytes exceeds the limit of " +
                   std::to_string(max_payload_);
        return State::Malformed;
      }
      payload_.assign(static_cast<std::size_t>(length_), '\0');
      payload_got_ = 0;
    }
  }
}

FrameReader::State FrameReader::read(int fd, const Deadline& deadline) {
  for (;;) {
    const State state = pump(fd);
    if (state != State::NeedMore) return state;
    const IoResult wait = wait_readable(fd, deadline);
    if (wait.io == Io::TimedOut) return State::TimedOut;
    if (wait.io == Io::Failed) {
      error_ = wait.error;
      return State::Failed;
    }
  }
}

std::string FrameReader::take_payload() {
  std::string out = std::move(payload_);
  payload_.clear();
  header_got_ = 0;
  payload_got_ = 0;
  length_ = 0;
  return out;
}

std::string encode_hello(const Hello& hello) {
  return Encoder()
      .u32(hello.version)
      .u32(hello.rank)
      .u32(hello.nranks)
      .u64(hello.secret)
      .bytes(hello.who)
      .take();
}

bool decode_hello(std::string_view payload, Hello* hello) {
  Decoder d(payload);
  if (!d.u32(&hello->version)) return false;
  if (hello->version != kProtocolVersion) return true;  // the caller reports the mismatch
  if (!d.u32(&hello->rank) || !d.u32(&hello->nranks) || !d.u64(&hello->secret)) return false;
  hello->who = std::string(d.rest());
  return true;
}

std::string encode_failure(ErrorCode code, std::string_view message) {
  return Encoder().u32(static_cast<uint32_t>(code)).bytes(message).take();
}

void decode_failure(std::string_view payload, ErrorCode* code, std::string* message) {
  Decoder d(payload);
  uint32_t raw = 0;
  d.u32(&raw);
  switch (static_cast<ErrorCode>(raw)) {
    case ErrorCode::SystemError:
    case ErrorCode::InternalError:
    case ErrorCode::InvalidArgument:
    case ErrorCode::InvalidUsage:
    case ErrorCode::RemoteError:
    case ErrorCode::Timeout: *code = static_cast<ErrorCode>(raw); break;
    default: *code = ErrorCode::RemoteError;  // a code we do not know: still a peer's failure
  }
  *message = std::string(d.rest());
}

std::string encode_notice(const base::Failure& f) {
  return Encoder()
      .u32(static_cast<uint32_t>(f.rank))
      .u32(static_cast<uint32_t>(f.reporter))
      .u32(static_cast<uint32_t>(f.kind))
      .u32(static_cast<uint32_t>(f.code))
      .bytes(std::string_view(f.detail).substr(0, kMaxNoticeDetail))
      .take();
}

bool decode_notice(std::string_view payload, base::Failure* f, std::string* why) {
  Decoder d(payload);
  uint32_t rank = 0, reporter = 0, kind = 0, code = 0;
  if (!d.u32(&rank) || !d.u32(&reporter) || !d.u32(&kind) || !d.u32(&code)) {
    *why = "a notice of " + std::to_string(payload.size()) + " bytes (at least 16 expected)";
    return false;
  }
  if (rank > static_cast<uint32_t>(INT_MAX) ||
      (reporter > static_cast<uint32_t>(INT_MAX) && reporter != UINT32_MAX)) {
    *why = "a notice naming rank " + std::to_string(rank) + " and reporter " +
           std::to_string(reporter);
    return false;
  }
  if (kind < static_cast<uint32_t>(base::FailureKind::Aborted) ||
      kind > static_cast<uint32_t>(base::FailureKind::Stopped)) {
    *why = "a notice of unknown failure kind " + std::to_string(kind);
    return false;
  }
  f->rank = static_cast<int>(rank);
  f->reporter = reporter == UINT32_MAX ? -1 : static_cast<int>(reporter);
  f->kind = static_cast<base::FailureKind>(kind);
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::Success:
    case ErrorCode::CudaError:
    case ErrorCode::SystemError:
    case ErrorCode::InternalError:
    case ErrorCode::InvalidArgument:
    case ErrorCode::InvalidUsage:
    case ErrorCode::RemoteError:
    case ErrorCode::Timeout:
    case ErrorCode::Aborted: f->code = static_cast<ErrorCode>(code); break;
    default: f->code = ErrorCode::RemoteError;  // a code from a newer peer: still its failure
  }
  f->detail = std::string(d.rest().substr(0, kMaxNoticeDetail));
  return true;
}

}  // namespace colossus::bootstrap
