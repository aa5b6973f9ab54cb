// builder.hpp: appends Steps to one channel of a Plan, one call per primitive.
//
// Algorithms are written against this so that each reads as a short sequence
// of primitives. Steps that would move zero elements are dropped here, in one
// place: both ends of a message compute the same count, so both drop it.
#pragma once

#include "plan/plan.hpp"

namespace colossus::plan {

inline Slice send_slice(std::size_t offset, std::size_t count) {
  return {Buffer::Send, offset, count};
}
inline Slice recv_slice(std::size_t offset, std::size_t count) {
  return {Buffer::Recv, offset, count};
}

class ChannelBuilder {
 public:
  explicit ChannelBuilder(ChannelPlan& channel) : steps_(channel.steps) {}

  void send(int to, Slice src) { add(StepKind::Send, -1, to, src, {}, false); }
  void recv(int from, Slice dst) { add(StepKind::Recv, from, -1, {}, dst, false); }
  void recv_reduce(int from, Slice src, Slice dst, bool finalize) {
    add(StepKind::RecvReduce, from, -1, src, dst, finalize);
  }
  void recv_reduce_send(int from, int to, Slice src) {
    add(StepKind::RecvReduceSend, from, to, src, {}, false);
  }
  void recv_copy_send(int from, int to, Slice dst) {
    add(StepKind::RecvCopySend, from, to, {}, dst, false);
  }
  void recv_reduce_copy_send(int from, int to, Slice src, Slice dst, bool finalize) {
    add(StepKind::RecvReduceCopySend, from, to, src, dst, finalize);
  }
  void copy(Slice src, Slice dst, bool finalize) {
    add(StepKind::Copy, -1, -1, src, dst, finalize);
  }
  void reduce(Slice src, Slice dst, bool finalize) {
    add(StepKind::Reduce, -1, -1, src, dst, finalize);
  }

 private:
  void add(StepKind kind, int from, int to, Slice src, Slice dst, bool finalize) {
    const std::size_t n = writes_dst(kind) ? dst.count : src.count;
    if (n == 0) return;
    Step s;
    s.kind = kind;
    s.finalize = finalize;
    s.recv_peer = from;
    s.send_peer = to;
    s.src = src;
    s.dst = dst;
    steps_.push_back(s);
  }
  std::vector<Step>& steps_;
};

}  // namespace colossus::plan
