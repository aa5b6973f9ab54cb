// Tests for the device-side executor's Plan encoding (exec/cuda/device_plan),
// which is plain C++ and runs everywhere.
#include "exec/cuda/device_plan.hpp"

#include "catch.hpp"
#include "colossus/error.hpp"
#include "plan/builder.hpp"

namespace colossus::exec::gpu {
namespace {

using plan::Buffer;
using plan::StepKind;

TEST_CASE("encode_channel keeps every step and numbers peers in order of use", "[exec][cuda]") {
  plan::ChannelPlan ch;
  plan::ChannelBuilder b(ch);
  b.send(3, plan::send_slice(10, 5));
  b.recv_reduce_send(1, 3, plan::send_slice(20, 5));
  b.recv_reduce_copy_send(1, 3, plan::send_slice(30, 5), plan::recv_slice(30, 5), true);
  b.recv(1, plan::recv_slice(40, 5));
  b.copy(plan::send_slice(0, 7), plan::recv_slice(0, 7), false);
  const EncodedChannel e = encode_channel(ch);
  REQUIRE(e.steps.size() == 5);
  REQUIRE(e.peers == std::vector<int>{3, 1});

  CHECK(e.steps[0].kind == static_cast<std::uint8_t>(StepKind::Send));
  CHECK(e.steps[0].send_conn == 0);
  CHECK(e.steps[0].recv_conn == -1);
  CHECK(e.steps[0].src_offset == 10);
  CHECK(e.steps[0].count == 5);

  CHECK(e.steps[1].recv_conn == 1);
  CHECK(e.steps[1].send_conn == 0);
  CHECK(e.steps[1].src_buffer == static_cast<std::uint8_t>(Buffer::Send));

  CHECK(e.steps[2].finalize == 1);
  CHECK(e.steps[2].dst_buffer == static_cast<std::uint8_t>(Buffer::Recv));
  CHECK(e.steps[2].dst_offset == 30);

  CHECK(e.steps[3].recv_conn == 1);
  CHECK(e.steps[3].send_conn == -1);
  CHECK(e.steps[3].finalize == 0);

  CHECK(e.steps[4].recv_conn == -1);
  CHECK(e.steps[4].send_conn == -1);
  CHECK(e.steps[4].count == 7);
}

TEST_CASE("encode_channel refuses a channel with too many peers", "[exec][cuda]") {
  plan::ChannelPlan ch;
  plan::ChannelBuilder b(ch);
  for (int peer = 0; peer <= kMaxConns; ++peer) b.send(peer, plan::send_slice(0, 1));
  CHECK_THROWS_AS(encode_channel(ch), Error);
}

TEST_CASE("encode_channel refuses a communicating step without a peer", "[exec][cuda]") {
  plan::ChannelPlan ch;
  plan::Step s;
  s.kind = StepKind::Recv;
  s.dst = plan::recv_slice(0, 4);
  ch.steps.push_back(s);  // recv_peer stays -1
  CHECK_THROWS_AS(encode_channel(ch), Error);
}

}  // namespace
}  // namespace colossus::exec::gpu
