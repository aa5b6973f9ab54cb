// streams.cc: endpoints to peers, and moving slots through UCX: a send per
// committed slot, a receive posted in every free slot, completions
// published in order; peers that fail or say goodbye.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/logging.hpp"
#include "transports/ucx/progress.hpp"
#include "transports/ucx/tags.hpp"

namespace colossus::transport {

using ucx::Op;
using ucx::Stream;
using namespace ucx;  // tags

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

namespace {

// The lanes UCX chose for `ep`, one line each, from ucp_ep_print_info.
std::string lanes(ucp_ep_h ep) {
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) return "";
  ucp_ep_print_info(ep, f);
  std::fclose(f);
  std::string all(buf, len), out;
  std::free(buf);
  for (std::size_t at = 0; at < all.size();) {
    std::size_t nl = all.find('\n', at);
    if (nl == std::string::npos) nl = all.size();
    const std::string line = all.substr(at, nl - at);
    if (line.find("lane[") != std::string::npos) {
      out += (out.empty() ? "" : "; ") + line.substr(line.find_first_not_of("# "));
    }
    at = nl + 1;
  }
  return out;
}

}  // namespace

void UcxProgress::on_peer_error(int peer, ucs_status_t status) {
  Peer& p = peers_[static_cast<std::size_t>(peer)];
  if (p.failed || p.closed) return;  // after its goodbye, the connection's end is no failure
  p.failed = true;
  p.why = ucs_status_string(status);
  stats_.peers_failed.fetch_add(1, std::memory_order_relaxed);
}

bool UcxProgress::ensure_ep(int peer) {
  Peer& p = peers_[static_cast<std::size_t>(peer)];
  if (p.ep || p.failed) return p.ep != nullptr;
  const std::string& addr = addresses_[static_cast<std::size_t>(peer)];
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t*>(addr.data());
  // UCX's shared-memory transports cannot report a failed peer, so with
  // peer error handling UCX refuses them. Asked for shared memory alone, a
  // dead peer is seen by its goodbye missing instead: the job's watch
  // (bootstrap/watch.hpp) fails the communicator, and every wait here has
  // a deadline.
  params.err_mode = handle_errors_ ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
  params.err_handler.cb = [](void* arg, ucp_ep_h, ucs_status_t st) {
    auto* peer_state = static_cast<Peer*>(arg);
    peer_state->self->on_peer_error(peer_state->rank, st);
  };
  params.err_handler.arg = &p;
  ucs_status_t st = ucp_ep_create(worker_->worker, &params, &p.ep);
  if (st == UCS_ERR_UNREACHABLE && handle_errors_) {
    // A UCX_TLS that mixes shared memory with transports unusable here.
    handle_errors_ = false;
    params.err_mode = UCP_ERR_HANDLING_MODE_NONE;
    st = ucp_ep_create(worker_->worker, &params, &p.ep);
    if (st == UCS_OK) {
      CLOG_SUB(Info, Net) << "ucx rank " << rank_ << ": the transports UCX can use to rank " << peer
                          << " cannot report peer failures; the job's watch does";
    }
  }
  if (st != UCS_OK) {
    p.ep = nullptr;
    on_peer_error(peer, st);
    p.why = std::string("ucp_ep_create: ") + ucs_status_string(st);
    return false;
  }
  stats_.endpoints.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  if (first_lane_.empty()) {
    first_lane_ = lanes(p.ep);
    CLOG_SUB(Info, Net) << "ucx rank " << rank_ << ": endpoint to rank " << peer << ": "
                        << (first_lane_.empty() ? "(no lane information)" : first_lane_);
  }
  return true;
}

void UcxProgress::map(Stream& s) {
  ucp_mem_map_params_t mp{};
  mp.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  mp.address = s.ring.storage;
  mp.length = s.ring.storage_bytes();
  if (ucp_mem_map(worker_->context, &mp, &s.memh) != UCS_OK) {
    s.memh = nullptr;  // UCX registers on the fly instead
    CLOG_SUB(Trace, Net) << describe(s, true) << ": ucp_mem_map failed; sending unregistered";
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

bool UcxProgress::post_goodbye_recv() {
  return post_control_recv(goodbye_, goodbye_buf_, sizeof goodbye_buf_, kGoodbye);
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

bool UcxProgress::check_goodbye() {
  if (!goodbye_.done) return false;
  finish(goodbye_);
  if (goodbye_.status == UCS_OK) {
    const int from = sender_of(goodbye_.info.sender_tag);
    if (from >= 0 && from < nranks_) {
      Peer& p = peers_[static_cast<std::size_t>(from)];
      if (!p.closed) {
        p.closed = true;
        p.closed_at = Clock::now();
        closing_peers_ = true;
      }
    }
  }
  if (goodbye_.status == UCS_ERR_CANCELED) return false;
  post_goodbye_recv();
  return true;
}

// A failed peer ends its streams at once (after what arrived whole was
// published); one that said goodbye after a grace for its last messages.
void UcxProgress::apply_peer_states() {
  if (stats_.peers_failed.load(std::memory_order_relaxed) == 0 && !closing_peers_) return;
  const auto now = Clock::now();
  bool waiting = false;
  for (Peer& p : peers_) {
    if (p.handled || !(p.failed || p.closed)) continue;
    if (!p.failed && now - p.closed_at < std::chrono::duration<double>(kCloseGraceS)) {
      waiting = true;
      continue;
    }
    p.handled = true;
    const std::string what = p.failed ? "peer failed (" + p.why + ")" : "peer closed";
    for (Stream* s : sends_) {
      if (s->peer == p.rank && !s->ring.failed.load(std::memory_order_relaxed))
        fail(*s, what, !p.failed);
    }
    for (Stream* r : recvs_) {
      if (r->peer == p.rank && !r->ring.failed.load(std::memory_order_relaxed))
        fail(*r, what, !p.failed);
    }
  }
  closing_peers_ = waiting;
}

void UcxProgress::fail(Stream& s, const std::string& what, bool quiet) {
  s.ring.failed.store(true, std::memory_order_release);
  ring_bell_ = true;
  const bool send = std::find(sends_.begin(), sends_.end(), &s) != sends_.end();
  if (quiet) {  // a peer's orderly close: one line per stream, for tracing only
    CLOG_SUB(Trace, Net) << describe(s, send) << ": " << what;
  } else {
    CLOG(Warn) << describe(s, send) << ": " << what;
  }
}

std::string UcxProgress::describe(const Stream& s, bool send) const {
  return "ucx rank " + std::to_string(rank_) +
         (send ? ": stream to rank " : ": stream from rank ") + std::to_string(s.peer) +
         " channel " + std::to_string(s.channel);
}

}  // namespace colossus::transport
