// credits.cc: flow control. A receiver announces how many receives it has
// posted on a stream; the sender sends only into them (tags.hpp). One
// announcement per stream is in flight at a time; what is posted meanwhile
// goes out with the next one.
#include "base/logging.hpp"
#include "transports/ucx/progress.hpp"

namespace colossus::transport {

using namespace ucx;

bool UcxProgress::announce(Stream& r) {
  bool moved = false;
  if (r.credit_op.request || r.credit_op.done) {
    if (!r.credit_op.done) return false;  // the last one is still going out
    finish(r.credit_op);
    moved = true;
    r.credit_op = Op{};
  }
  if (r.posted == r.announced || r.ring.failed.load(std::memory_order_relaxed)) return moved;
  Peer& p = peers_[static_cast<std::size_t>(r.peer)];
  if (!p.ep) return moved;  // failed: apply_peer_states ends the stream
  r.credit_msg.channel = static_cast<uint32_t>(r.channel);
  r.credit_msg.posted = r.posted;
  ucp_request_param_t prm{};
  prm.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  prm.cb.send = send_done;
  prm.user_data = &r.credit_op;
  if (!start(r.credit_op, ucp_tag_send_nbx(p.ep, &r.credit_msg, sizeof r.credit_msg,
                                           tag(kCredit, rank_), &prm))) {
    fail(r, std::string("credit: ucp_tag_send_nbx: ") + ucs_status_string(r.credit_op.status),
         false);
    return true;
  }
  r.announced = r.posted;
  return true;
}

bool UcxProgress::check_credits() {
  bool moved = false;
  while (credit_in_.done) {
    finish(credit_in_);
    if (credit_in_.status == UCS_ERR_CANCELED) return moved;
    if (credit_in_.status == UCS_OK && credit_in_.info.length == sizeof(Credit)) {
      const std::pair<int, int> key{sender_of(credit_in_.info.sender_tag),
                                    static_cast<int>(credit_buf_.channel)};
      auto it = send_index_.find(key);
      uint64_t& credit = it != send_index_.end() ? it->second->credit : early_credit_[key];
      if (credit_buf_.posted > credit) credit = credit_buf_.posted;
    } else if (credit_in_.status != UCS_OK) {
      CLOG(Warn) << "ucx rank " << rank_
                 << ": a credit receive failed: " << ucs_status_string(credit_in_.status);
    }
    moved = true;
    if (!post_control_recv(credit_in_, &credit_buf_, sizeof credit_buf_, kCredit)) return moved;
  }
  return moved;
}

}  // namespace colossus::transport
