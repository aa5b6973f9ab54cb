// device_plan.cc: Plan channel -> DeviceStep array (see device_plan.hpp).
#include "exec/cuda/device_plan.hpp"

#include <algorithm>
#include <string>

#include "colossus/error.hpp"

namespace colossus::exec::gpu {
namespace {

std::int8_t conn_index(std::vector<int>& peers, int peer, std::size_t step) {
  if (peer < 0) {
    throw Error(ErrorCode::InvalidArgument,
                "device plan: step " + std::to_string(step) + " needs a peer and has none");
  }
  auto it = std::find(peers.begin(), peers.end(), peer);
  if (it == peers.end()) {
    if (static_cast<int>(peers.size()) == kMaxConns) {
      throw Error(ErrorCode::InvalidArgument, "device plan: a channel talks to more than " +
                                                  std::to_string(kMaxConns) + " peers (step " +
                                                  std::to_string(step) + ", peer rank " +
                                                  std::to_string(peer) + ")");
    }
    peers.push_back(peer);
    it = peers.end() - 1;
  }
  return static_cast<std::int8_t>(it - peers.begin());
}

}  // namespace

EncodedChannel encode_channel(const plan::ChannelPlan& channel) {
  EncodedChannel out;
  out.steps.reserve(channel.steps.size());
  for (std::size_t i = 0; i < channel.steps.size(); ++i) {
    const plan::Step& s = channel.steps[i];
    DeviceStep d;
    d.kind = static_cast<std::uint8_t>(s.kind);
    d.finalize = s.finalize ? 1 : 0;
    d.src_buffer = static_cast<std::uint8_t>(s.src.buffer);
    d.src_offset = s.src.offset;
    d.dst_buffer = static_cast<std::uint8_t>(s.dst.buffer);
    d.dst_offset = s.dst.offset;
    d.count = s.count();
    if (plan::receives(s.kind)) d.recv_conn = conn_index(out.peers, s.recv_peer, i);
    if (plan::sends(s.kind)) d.send_conn = conn_index(out.peers, s.send_peer, i);
    out.steps.push_back(d);
  }
  return out;
}

}  // namespace colossus::exec::gpu
