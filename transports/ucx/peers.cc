// peers.cc: endpoints to peers (made lazily, with peer error handling
// where UCX has it), and what becomes of a peer that fails or says goodbye.
#include <cstdio>
#include <cstdlib>

#include "base/logging.hpp"
#include "transports/ucx/progress.hpp"
#include "transports/ucx/tags.hpp"

namespace colossus::transport {

using namespace ucx;

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

bool UcxProgress::post_goodbye_recv() {
  return post_control_recv(goodbye_, goodbye_buf_, sizeof goodbye_buf_, kGoodbye);
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

}  // namespace colossus::transport
