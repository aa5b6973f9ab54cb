// wire.hpp: what the tcp transport puts on the wire.
//
// A stream (sender, receiver, channel) is `nsockets` TCP connections. The
// sender opens each and first writes a Hello naming the stream and the
// socket's index in it. After that, data flows one way only:
//
//   socket 0:  [u64 bytes][part 0] [u64 bytes][part 0] ...   one frame per message
//   socket k:  [part k]            [part k]            ...   no headers
//
// A message of at most kStripeMin bytes (or any message when nsockets is 1)
// is all part 0. A larger one is cut into nsockets contiguous pieces of
// equal size (rounded up to kStripeAlign, so the last may be shorter or
// empty), piece k on socket k. Both ends derive the cut from the size in the
// header, so sockets k > 0 need no framing of their own, and the receiver
// places every piece straight into the receive slot: no reassembly copy.
// Each socket carries its pieces in message order, which keeps the stream
// in order however the sockets interleave.
//
// Multi-byte fields are little-endian: the transport is built for x86-64
// and aarch64 hosts only, and writes headers straight from memory.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace colossus::transport::tcp {

static_assert(std::endian::native == std::endian::little,
              "the tcp wire format is little-endian and written from memory");

constexpr uint32_t kHelloMagic = 0x4354'4c43;  // "CLTC" in memory order
constexpr uint32_t kWireVersion = 1;
constexpr int kMaxSockets = 64;
constexpr int kMaxChannels = 1 << 24;
constexpr std::size_t kStripeMin = 64 << 10;
constexpr std::size_t kStripeAlign = 4096;
constexpr std::size_t kHeaderBytes = sizeof(uint64_t);

struct Hello {
  uint32_t magic = kHelloMagic;
  uint32_t version = kWireVersion;
  uint64_t secret = 0;  // the job's secret: only our own job's ranks get in
  int32_t src = -1;     // sending rank
  int32_t dst = -1;     // receiving rank (catches a stale address table)
  int32_t channel = -1;
  uint16_t socket = 0;      // index of this connection in the stream
  uint16_t nsockets = 0;    // connections the stream will have
  uint64_t slot_bytes = 0;  // the sender's slot: both ends must agree
};
static_assert(sizeof(Hello) == 40, "Hello is a fixed 40-byte record");

struct Piece {
  std::size_t begin = 0;
  std::size_t len = 0;
};

// The bytes of a `bytes`-long message that travel on socket k of nsockets.
inline Piece piece_of(std::size_t bytes, int nsockets, int k) {
  if (nsockets <= 1 || bytes <= kStripeMin) return k == 0 ? Piece{0, bytes} : Piece{};
  const auto n = static_cast<std::size_t>(nsockets);
  const std::size_t each = ((bytes + n - 1) / n + kStripeAlign - 1) / kStripeAlign * kStripeAlign;
  const std::size_t begin = std::min(bytes, each * static_cast<std::size_t>(k));
  return Piece{begin, std::min(bytes, begin + each) - begin};
}

// Frame bytes on socket k: the header travels on socket 0 only.
inline std::size_t frame_bytes(std::size_t bytes, int nsockets, int k) {
  return (k == 0 ? kHeaderBytes : 0) + piece_of(bytes, nsockets, k).len;
}

}  // namespace colossus::transport::tcp
