// tags.hpp: what a UCP tag means to the ucx transport, and the small
// control messages beside the data.
//
// A tag is (channel << 32 | sender rank). Data channels are below 2^30;
// the top two channel values carry control messages from any sender:
//   goodbye  the sender's transport is closing (one byte)
//   credit   the sender has posted receives for messages [0, posted) of a
//            stream from this rank: messages are sent only into posted
//            receives, so none is ever unexpected (UCX buffers those
//            without bound) and none needs UCX's rendezvous handshake
#pragma once

#include <cstdint>

namespace colossus::transport::ucx {

constexpr int kMaxChannels = 1 << 30;
constexpr uint64_t kAllBits = ~uint64_t{0};
constexpr uint64_t kChannelBits = kAllBits << 32;
constexpr uint64_t kGoodbye = uint64_t{0xFFFFFFFF} << 32;
constexpr uint64_t kCredit = uint64_t{0xFFFFFFFE} << 32;

inline uint64_t tag(uint64_t channel_bits, int sender) {
  return channel_bits | static_cast<uint32_t>(sender);
}
inline uint64_t data_tag(int channel, int sender) {
  return tag(static_cast<uint64_t>(channel) << 32, sender);
}
inline int sender_of(uint64_t tag) { return static_cast<int>(tag & 0xFFFFFFFF); }

struct Credit {
  uint32_t channel = 0;
  uint32_t unused = 0;
  uint64_t posted = 0;
};

}  // namespace colossus::transport::ucx
