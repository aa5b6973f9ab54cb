// p2p.cc: send, recv and the monitored barrier of the backend.
#include "backend.hpp"
#include "checks.hpp"
#include "convert.hpp"

namespace colossus_torch {

using colossus::Communicator;
using colossus::DataType;

// Messages between two ranks match in call order; c10d's tag is accepted
// and not used for matching (as in NCCL's backend).
c10::intrusive_ptr<c10d::Work> ColossusBackend::send(std::vector<at::Tensor>& tensors, int dst,
                                                     int /*tag*/) {
  const at::Tensor& t = single_tensor(tensors, "send");
  check_host_tensor(t, "send");
  const int peer = checked_rank(dst, getSize(), "send", "destination");
  const at::Tensor in = t.contiguous();
  const std::size_t bytes = byte_count(in);
  return submit(
      c10d::OpType::SEND, "send", {t},
      {{[in, bytes, peer](Communicator& c) { c.send(in.data_ptr(), bytes, DataType::Uint8, peer); },
        nullptr}},
      When{c10d::kUnsetTimeout, true});
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::recv(std::vector<at::Tensor>& tensors, int src,
                                                     int /*tag*/) {
  const at::Tensor& t = single_tensor(tensors, "recv");
  check_host_tensor(t, "recv");
  const int peer = checked_rank(src, getSize(), "recv", "source");
  auto out = std::make_shared<Output>(t);
  const std::size_t bytes = byte_count(t);
  return submit(c10d::OpType::RECV, "recv", {t},
                {{[out, bytes, peer](Communicator& c) {
                    c.recv(out->buf.data_ptr(), bytes, DataType::Uint8, peer);
                  },
                  [out] { out->copy_back(); }}},
                When{c10d::kUnsetTimeout, true});
}

// Rank 0 hears from every other rank in turn, then answers each: a rank that
// does not arrive within the timeout is named in the error (the first one
// missing; wait_all_ranks cannot name more, since the wait aborts the group).
void ColossusBackend::monitoredBarrier(const c10d::BarrierOptions& opts, bool /*wait_all_ranks*/) {
  const int n = getSize();
  auto token = at::zeros({1}, at::kByte);
  std::vector<Step> steps;
  if (getRank() == 0) {
    for (int q = 1; q < n; ++q) {
      auto work =
          submit(c10d::OpType::RECV, "monitored_barrier", {},
                 {{[token, q](Communicator& c) { c.recv(token.data_ptr(), 1, DataType::Uint8, q); },
                   nullptr}},
                 when(opts));
      try {
        work->wait(::kNoTimeout);
      } catch (const std::exception& e) {
        TORCH_CHECK_WITH(DistBackendError, false, "colossus: monitored_barrier: rank ", q,
                         " did not reach the barrier: ", e.what());
      }
    }
    for (int q = 1; q < n; ++q)
      steps.push_back(
          {[token, q](Communicator& c) { c.send(token.data_ptr(), 1, DataType::Uint8, q); },
           nullptr});
  } else {
    steps.push_back(
        {[token](Communicator& c) { c.send(token.data_ptr(), 1, DataType::Uint8, 0); }, nullptr});
    steps.push_back(
        {[token](Communicator& c) { c.recv(token.data_ptr(), 1, DataType::Uint8, 0); }, nullptr});
  }
  if (steps.empty()) return;
  // Steps of one job run as a group; the non-root's send and recv must run
  // in order, so they go as separate jobs.
  for (auto& s : steps)
    submit(c10d::OpType::BARRIER, "monitored_barrier", {}, {std::move(s)}, when(opts))
        ->wait(::kNoTimeout);
}

}  // namespace colossus_torch
