// shutdown.cc: ending a ucx transport without hanging on anyone: goodbye
// to every peer this rank has an endpoint to (so a peer reading from it
// over shared memory, where no socket closes, sees the end), receives
// cancelled, endpoints closed by force, slot memory unmapped.
#include <algorithm>
#include <vector>

#include "base/logging.hpp"
#include "transports/ucx/progress.hpp"

namespace colossus::transport {

using ucx::Op;
using ucx::Stream;

template <class Done>
bool UcxProgress::progress_until(Done done, double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (ucp_worker_progress(worker_->worker) == 0) {
      if (Clock::now() > until) return false;
      std::this_thread::yield();
    }
  }
  return true;
}

void UcxProgress::say_goodbye() {
  static const char kByte = 0;
  // Members, not locals: a request that outlives this function still
  // completes into them (at worst inside ucp_worker_destroy).
  std::vector<Op>& ops = farewells_;
  ops.assign(peers_.size(), Op{});
  for (std::size_t r = 0; r < peers_.size(); ++r) {
    Peer& p = peers_[r];
    if (!p.ep || p.failed || p.closed) {
      ops[r].done = true;  // nothing to say
      continue;
    }
    ucp_request_param_t prm{};
    prm.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    prm.cb.send = [](void*, ucs_status_t st, void* user_data) {
      static_cast<Op*>(user_data)->done = true;
      static_cast<Op*>(user_data)->status = st;
    };
    prm.user_data = &ops[r];
    const ucs_status_ptr_t req =
        ucp_tag_send_nbx(p.ep, &kByte, 1, ucx::tag(ucx::kGoodbye, rank_), &prm);
    if (UCS_PTR_IS_ERR(req)) continue;
    ops[r].request = req;
    if (req == nullptr) ops[r].done = true;
  }
  // A dead peer's goodbye never completes: bounded.
  progress_until(
      [&] {
        for (const Op& op : ops)
          if (!op.done) return false;
        return true;
      },
      std::min(options_.timeout_s, 0.5));
  for (Op& op : ops) {
    if (op.request && op.done) ucp_request_free(op.request);
    if (op.request && !op.done) ucp_request_cancel(worker_->worker, op.request);
  }
}

// Messages peers sent that this rank never asked for (a collective that
// failed midway): taken and dropped, so the worker ends clean.
void UcxProgress::drain_unexpected() {
  for (int i = 0; i < 100000; ++i) {
    ucp_tag_recv_info_t info{};
    ucp_tag_message_h msg = ucp_tag_probe_nb(worker_->worker, 0, 0, 1, &info);
    if (!msg) {
      if (ucp_worker_progress(worker_->worker) == 0) return;
      continue;
    }
    drain_buf_.resize(std::max<std::size_t>(info.length, 1));
    drain_op_ = Op{};
    ucp_request_param_t prm{};
    prm.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    prm.cb.recv = [](void*, ucs_status_t st, const ucp_tag_recv_info_t*, void* user_data) {
      static_cast<Op*>(user_data)->done = true;
      static_cast<Op*>(user_data)->status = st;
    };
    prm.user_data = &drain_op_;
    const ucs_status_ptr_t req =
        ucp_tag_msg_recv_nbx(worker_->worker, drain_buf_.data(), info.length, msg, &prm);
    if (UCS_PTR_IS_ERR(req)) return;
    if (req == nullptr) continue;
    // Its sender gone mid-message: leave it (and the buffer it writes into,
    // a member) to ucp_worker_destroy.
    if (!progress_until([&] { return drain_op_.done; }, 0.2)) return;
    ucp_request_free(req);
  }
}

void UcxProgress::shut_down() {
  say_goodbye();
  // Cancel what is still posted: receives, the goodbye receive, and sends
  // to peers that took nothing.
  std::vector<Op*> open;
  auto collect = [&](Op& op) {
    if (op.request && op.done) {
      ucp_request_free(op.request);
      op.request = nullptr;
    } else if (op.request) {
      ucp_request_cancel(worker_->worker, op.request);
      open.push_back(&op);
    }
  };
  for (Stream* s : sends_)
    for (Op& op : s->ops) collect(op);
  for (Stream* r : recvs_) {
    for (Op& op : r->ops) collect(op);
    collect(r->credit_op);
  }
  collect(goodbye_);
  collect(credit_in_);
  // Endpoints closed by force: a flush could wait forever on a dead peer.
  std::vector<ucs_status_ptr_t> closing;
  for (Peer& p : peers_) {
    if (!p.ep) continue;
    ucp_request_param_t prm{};
    prm.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    prm.flags = UCP_EP_CLOSE_FLAG_FORCE;
    const ucs_status_ptr_t req = ucp_ep_close_nbx(p.ep, &prm);
    if (UCS_PTR_IS_PTR(req)) closing.push_back(req);
    p.ep = nullptr;
  }
  const bool settled = progress_until(
      [&] {
        for (const Op* op : open)
          if (!op->done) return false;
        for (ucs_status_ptr_t req : closing)
          if (ucp_request_check_status(req) == UCS_INPROGRESS) return false;
        return true;
      },
      2.0);
  if (!settled) {
    // Sends to a peer that died or left mid-message: expected after a failure.
    CLOG_SUB(Info, Net) << "ucx rank " << rank_ << ": requests still open at close; leaving "
                        << "them to ucp_worker_destroy";
  }
  for (Op* op : open)
    if (op->done && op->request) ucp_request_free(op->request);
  for (ucs_status_ptr_t req : closing)
    if (ucp_request_check_status(req) != UCS_INPROGRESS) ucp_request_free(req);
  drain_unexpected();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto* map : {&send_map_, &recv_map_}) {
    for (auto& [key, s] : *map) {
      if (s->memh) ucp_mem_unmap(worker_->context, s->memh);
      s->memh = nullptr;
    }
  }
}

}  // namespace colossus::transport
