// frame.hpp: the bootstrap's wire format.
//
// Every message is one frame: a 16-byte header {u32 magic, u32 type,
// u64 length} and `length` payload bytes, all integers little-endian. The
// reader checks the magic as soon as 4 bytes are in and the length before
// allocating, so garbage and absurd lengths are refused without buffering
// them. The first frame on every connection is a Hello; its payload starts
// with the protocol version, a promise kept by every future version so that
// a mismatch can always be named.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/failure.hpp"
#include "bootstrap/socket.hpp"
#include "colossus/error.hpp"

namespace colossus::bootstrap {

constexpr uint32_t kFrameMagic = 0x544F4F42;  // "BOOT" as little-endian bytes
constexpr uint32_t kProtocolVersion = 1;
constexpr std::size_t kFrameHeaderBytes = 16;
// Largest payload of any frame after authentication: bounds what a peer can
// make us allocate. An allgather's whole table travels in one frame, so this
// is also the largest allgather (sum over ranks) and broadcast.
constexpr uint64_t kMaxFrameBytes = 64ull << 20;
// Largest frame an unauthenticated connection may announce: a stranger can
// cost us at most this much memory.
constexpr uint64_t kMaxHelloBytes = 4096;

enum class FrameType : uint32_t {
  Hello = 1,           // member -> rank 0: who I am, which job
  Welcome = 2,         // rank 0 -> member: the whole job has joined
  Reject = 3,          // rank 0 -> a connection it refuses: why
  Abort = 4,           // either way: the sender failed; the job is over
  Gather = 5,          // member -> rank 0: allgather contribution
  GatherTable = 6,     // rank 0 -> member: every rank's contribution
  Broadcast = 7,       // root -> rank 0 -> members: {u32 root, blob}
  BarrierArrive = 8,   // member -> rank 0
  BarrierRelease = 9,  // rank 0 -> member
  // The watch (watch.hpp), after setup:
  Heartbeat = 10,  // either way, every heartbeat_s: I am alive; empty
  Notice = 11,     // either way: a base::Failure (encode_notice)
  Bye = 12,        // either way: I am leaving in order, not failing; empty
};
const char* frame_type_name(uint32_t type);

std::string frame_header(FrameType type, uint64_t payload_bytes);
// Header and payload in one string, for send_now().
std::string whole_frame(FrameType type, std::string_view payload);
IoResult send_frame(int fd, FrameType type, std::string_view payload, const Deadline& deadline);

// Reassembles one frame from a non-blocking socket across as many pump()
// calls as the bytes take; reads exactly one frame, never into the next.
class FrameReader {
 public:
  enum class State { NeedMore, Complete, Closed, Malformed, Failed, TimedOut };

  explicit FrameReader(uint64_t max_payload) : max_payload_(max_payload) {}
  // Reads what the socket has now. Malformed: see problem(). Failed: error().
  State pump(int fd);
  // pump() until a whole frame or the deadline.
  State read(int fd, const Deadline& deadline);

  uint32_t type() const { return type_; }
  uint64_t bytes_received() const { return header_got_ + payload_got_; }
  const std::string& problem() const { return problem_; }
  int error() const { return error_; }
  // The completed frame's payload; the reader is ready for the next frame.
  std::string take_payload();

 private:
  uint64_t max_payload_;
  unsigned char header_[kFrameHeaderBytes] = {};
  std::size_t header_got_ = 0;
  uint32_t type_ = 0;
  uint64_t length_ = 0;
  std::string payload_;
  std::size_t payload_got_ = 0;
  std::string problem_;
  int error_ = 0;
};

// Little-endian encoding of the payloads' fields.
class Encoder {
 public:
  Encoder& u32(uint32_t v);
  Encoder& u64(uint64_t v);
  Encoder& bytes(std::string_view v);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool u32(uint32_t* v);
  bool u64(uint64_t* v);
  bool bytes(std::size_t n, std::string_view* v);
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

struct Hello {
  uint32_t version = kProtocolVersion;
  uint32_t rank = 0;
  uint32_t nranks = 0;
  uint64_t secret = 0;
  std::string who;  // "host pid N": for error messages only
};
std::string encode_hello(const Hello& hello);
// False when the payload is too short to hold even the version; a payload
// whose version differs is decoded only as far as the version.
bool decode_hello(std::string_view payload, Hello* hello);

// Reject and Abort carry an error code and a message.
std::string encode_failure(ErrorCode code, std::string_view message);
void decode_failure(std::string_view payload, ErrorCode* code, std::string* message);

// A Notice: {u32 rank, u32 reporter, u32 kind, u32 code, detail bytes}.
// Ranks travel as u32; reporter -1 (unknown) as 0xffffffff.
std::string encode_notice(const base::Failure& f);
// False, with *why, for a payload no encode_notice made: too short, a rank
// beyond int, a kind we do not know. An unknown error code becomes
// RemoteError; a detail longer than kMaxNoticeDetail is cut there.
bool decode_notice(std::string_view payload, base::Failure* f, std::string* why);
constexpr std::size_t kMaxNoticeDetail = 4096;

}  // namespace colossus::bootstrap
