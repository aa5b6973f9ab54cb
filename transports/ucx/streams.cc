// streams.cc: moving slots through UCX: a send per committed slot, a
// receive posted in every free slot, completions published in order.
// (Endpoints and what becomes of peers: peers.cc.)
#include <algorithm>

#include "base/logging.hpp"
#include "transports/ucx/progress.hpp"
#include "transports/ucx/tags.hpp"

namespace colossus::transport {

using namespace ucx;  // Op, Stream, tags

namespace ucx {

void send_done(void* /*request*/, ucs_status_t status, void* user_data) {
  auto* op = static_cast<Op*>(user_data);
  op->done = true;
  op->status = status;
}

void recv_done(void* /*request*/, ucs_status_t status, const ucp_tag_recv_info_t* info,
               void* user_data) {
  auto* op = static_cast<Op*>(user_data);
  op->done = true;
  op->status = status;
  if (info) op->info = *info;
}

// Starts `op` (reset before the call) from what an nbx call returned;
// false on an immediate error. UCX may run the callback inside the call.
bool start(Op& op, ucs_status_ptr_t req) {
  if (UCS_PTR_IS_ERR(req)) {
    op.done = true;
    op.status = UCS_PTR_STATUS(req);
    return false;
  }
  op.request = req;
  if (req == nullptr) op.done = true;
  return true;
}

void finish(Op& op) {
  if (op.request) ucp_request_free(op.request);
  op.request = nullptr;
}

}  // namespace ucx

void UcxProgress::map(Stream& s) {
  ucp_mem_map_params_t mp{};
  mp.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  mp.address = s.ring.storage;
  mp.length = s.ring.storage_bytes();
  if (ucp_mem_map(worker_->context, &mp, &s.memh) != UCS_OK) {
    s.memh = nullptr;  // UCX registers on the fly instead
    CLOG_SUB(Trace, Net) << describe(s) << ": ucp_mem_map failed; sending unregistered";
  }
}

bool UcxProgress::adopt_new_streams() {
  if (!news_.load()) return false;
  std::vector<Stream*> sends, recvs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sends.swap(new_sends_);
    recvs.swap(new_recvs_);
    news_.store(false);
  }
  for (Stream* s : sends) {
    map(*s);
    ensure_ep(s->peer);
    sends_.push_back(s);
    const std::pair<int, int> key{s->peer, s->channel};
    send_index_[key] = s;
    if (auto it = early_credit_.find(key); it != early_credit_.end()) {
      s->credit = it->second;
      early_credit_.erase(it);
    }
  }
  for (Stream* r : recvs) {
    map(*r);
    ensure_ep(r->peer);  // its error handler is how a dead sender is seen
    recvs_.push_back(r);
  }
  return !sends.empty() || !recvs.empty();
}

ucp_request_param_t UcxProgress::params(Stream& s, Op& op, bool send) const {
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  if (send) {
    p.cb.send = send_done;
  } else {
    p.cb.recv = recv_done;
    // Always through the callback: in UCX 1.13 an immediate completion
    // may leave recv_info unset (seen as 0-byte messages).
    p.op_attr_mask |= UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  }
  p.user_data = &op;
  if (s.memh) {
    p.op_attr_mask |= UCP_OP_ATTR_FIELD_MEMH;
    p.memh = s.memh;
  }
  return p;
}

bool UcxProgress::post_sends(Stream& s) {
  if (s.ring.failed.load(std::memory_order_relaxed)) return false;
  // Only into receives the peer has posted (credits.cc).
  const uint64_t head = std::min(s.ring.head.load(std::memory_order_acquire), s.credit);
  if (s.posted >= head) return false;
  Peer& p = peers_[static_cast<std::size_t>(s.peer)];
  if (!p.ep) return false;  // failed: apply_peer_states ends the stream
  for (; s.posted < head; ++s.posted) {
    Op& op = s.op(s.posted);
    op = Op{};
    const ucp_request_param_t prm = params(s, op, true);
    if (!start(op, ucp_tag_send_nbx(p.ep, s.ring.slot(s.posted), s.ring.size(s.posted),
                                    data_tag(s.channel, rank_), &prm))) {
      fail(s, std::string("ucp_tag_send_nbx: ") + ucs_status_string(op.status), false);
      return true;
    }
  }
  return true;
}

bool UcxProgress::complete_sends(Stream& s) {
  uint64_t tail = s.ring.tail.load(std::memory_order_relaxed);
  const uint64_t first = tail;
  for (; tail < s.posted && s.op(tail).done; ++tail) {
    Op& op = s.op(tail);
    finish(op);
    if (op.status != UCS_OK) {
      if (!s.ring.failed.load(std::memory_order_relaxed))
        fail(s, std::string("send failed: ") + ucs_status_string(op.status), false);
      break;
    }
    stats_.messages_sent.fetch_add(1, std::memory_order_relaxed);
  }
  if (tail == first) return false;
  s.ring.tail.store(tail, std::memory_order_release);
  ring_bell_ = true;
  last_progress_ = Clock::now();
  return true;
}

bool UcxProgress::post_recvs(Stream& s) {
  if (s.ring.failed.load(std::memory_order_relaxed)) return false;
  const uint64_t limit = s.ring.tail.load(std::memory_order_acquire) + s.ring.depth;
  if (s.posted == limit) return false;
  for (; s.posted < limit; ++s.posted) {
    Op& op = s.op(s.posted);
    op = Op{};
    const ucp_request_param_t prm = params(s, op, false);
    if (!start(op, ucp_tag_recv_nbx(worker_->worker, s.ring.slot(s.posted), s.ring.slot_bytes,
                                    data_tag(s.channel, s.peer), kAllBits, &prm))) {
      fail(s, std::string("ucp_tag_recv_nbx: ") + ucs_status_string(op.status), false);
      return true;
    }
  }
  return true;
}

bool UcxProgress::complete_recvs(Stream& s) {
  uint64_t head = s.ring.head.load(std::memory_order_relaxed);
  const uint64_t first = head;
  for (; head < s.posted && s.op(head).done; ++head) {
    Op& op = s.op(head);
    finish(op);
    if (op.status != UCS_OK) {
      if (op.status != UCS_ERR_CANCELED && !s.ring.failed.load(std::memory_order_relaxed)) {
        s.ring.head.store(head, std::memory_order_release);
        fail(s, std::string("receive failed: ") + ucs_status_string(op.status), false);
      }
      return true;
    }
    s.ring.size(head) = op.info.length;
    stats_.messages_received.fetch_add(1, std::memory_order_relaxed);
  }
  if (head == first) return false;
  s.ring.head.store(head, std::memory_order_release);
  ring_bell_ = true;
  return true;
}

bool UcxProgress::post_control_recv(Op& op, void* buf, std::size_t bytes, uint64_t channel_bits) {
  op = Op{};
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                   UCP_OP_ATTR_FLAG_NO_IMM_CMPL;  // see params()
  p.cb.recv = recv_done;
  p.user_data = &op;
  return start(op, ucp_tag_recv_nbx(worker_->worker, buf, bytes, channel_bits, kChannelBits, &p));
}

void UcxProgress::fail(Stream& s, const std::string& what, bool quiet) {
  s.ring.failed.store(true, std::memory_order_release);
  ring_bell_ = true;
  if (quiet) {  // a peer's orderly close: one line per stream, for tracing only
    CLOG_SUB(Trace, Net) << describe(s) << ": " << what;
  } else {
    CLOG(Warn) << describe(s) << ": " << what;
  }
}

std::string UcxProgress::describe(const Stream& s) const {
  return "ucx rank " + std::to_string(rank_) +
         (s.send ? ": stream to rank " : ": stream from rank ") + std::to_string(s.peer) +
         " channel " + std::to_string(s.channel);
}

}  // namespace colossus::transport
