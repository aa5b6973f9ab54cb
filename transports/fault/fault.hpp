// fault.hpp: a Transport decorator that injects faults by rule.
//
// FaultTransport wraps any Transport of one rank and passes every call
// through, except where a rule says otherwise:
//
//   drop       on the receiving rank: messages [first, first + count) from
//              `peer` on a channel are taken off the inner transport and
//              discarded unseen. With the default count (all from `first`
//              on) the receiver waits forever, and its deadline turns that
//              into a timeout naming the step and peer; with a finite one,
//              later messages arrive in the place of the lost ones.
//   truncate   on the sending rank: messages [first, first + count) towards
//              `peer` on a channel are committed `short_by` bytes shorter
//              than the sender announced (the receiver sees a size it did not
//              expect); truncate_message() makes a rule for one message.
//   fail_after on one rank: once `bytes` bytes have gone the rule's way
//              (sent to or received from `peer`, all channels together), the
//              message that would go past them does not move and every
//              endpoint of this rank with `peer`, both ways, reports
//              PeerFailed from then on, as for a peer that died.
//
// Messages are counted per connection (peer, channel) from 0, in the order
// the inner transport carries them; channel -1 in a rule means every channel.
// A rule acts on the transport of its `rank` only, so one rule list can be
// handed to every rank (wrap_with_faults).
//
// The transport also counts what crosses it (FaultCounts): polls, messages
// and bytes each way, and the faults it injected, so a test can check that a
// fault really happened and how much work a component did.
//
// Thread safety: as the inner transport's: a FaultTransport and its
// endpoints belong to one rank's thread. The counts may be read from any
// thread while it runs.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "transports/transport.hpp"

namespace colossus::transport {

enum class FaultKind : uint8_t { Drop, Truncate, FailAfter };
enum class FaultWay : uint8_t { Send, Recv };
const char* to_string(FaultKind k);

struct FaultRule {
  FaultKind kind = FaultKind::Drop;
  int rank = 0;      // the rank whose transport injects the fault
  int peer = 0;      // the other end of the affected connections
  int channel = -1;  // -1: every channel (Drop, Truncate)
  // Drop, Truncate: messages [first, first + count) of each affected connection.
  std::uint64_t first = 0;
  std::uint64_t count = std::numeric_limits<std::uint64_t>::max();
  std::size_t short_by = 1;       // Truncate: bytes missing from each
  FaultWay way = FaultWay::Send;  // FailAfter: which traffic counts
  std::size_t bytes = 0;          // FailAfter: bytes that get through
  std::string describe() const;
};

// The rules, spelled as what they do.
FaultRule drop_messages(int rank, int from_peer, std::uint64_t first,
                        std::uint64_t count = std::numeric_limits<std::uint64_t>::max(),
                        int channel = -1);
FaultRule truncate_message(int rank, int to_peer, std::uint64_t message, std::size_t short_by,
                           int channel = -1);
FaultRule fail_after(int rank, int peer, FaultWay way, std::size_t bytes);

// What one FaultTransport saw. Relaxed atomics: read them after the run, or
// as a lower bound while it goes.
struct FaultCounts {
  std::atomic<std::uint64_t> polls{0};  // try_acquire and try_peek calls
  std::atomic<std::uint64_t> messages_sent{0}, bytes_sent{0};
  std::atomic<std::uint64_t> messages_received{0}, bytes_received{0};
  std::atomic<std::uint64_t> dropped{0}, truncated{0};
  std::atomic<std::uint64_t> failed_peers{0};  // peers a fail_after rule cut off
  std::uint64_t injected() const { return dropped + truncated + failed_peers; }
};

class FaultTransport final : public Transport {
 public:
  // Throws InvalidArgument for a rule whose rank, peer or channel is out of
  // range, or a Truncate rule missing no bytes.
  FaultTransport(std::unique_ptr<Transport> inner, std::vector<FaultRule> rules);
  ~FaultTransport() override;
  const char* name() const override { return name_.c_str(); }
  int rank() const override { return inner_->rank(); }
  int nranks() const override { return inner_->nranks(); }
  std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) override;
  std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) override;
  Doorbell& doorbell() override { return inner_->doorbell(); }
  std::size_t slot_bytes() const override { return inner_->slot_bytes(); }

  // Shared, so that they outlive the transport (a HostProxy owns its net).
  std::shared_ptr<const FaultCounts> counts() const { return counts_; }

  struct State;  // this rank's rules, per-peer traffic and failures

 private:
  void check_peer(int peer) const;  // before the per-peer state is indexed

  std::unique_ptr<Transport> inner_;
  std::string name_;
  std::shared_ptr<FaultCounts> counts_;
  std::shared_ptr<State> state_;
};

// Wraps each transport of a group (element i is rank i) with the same rules.
std::vector<std::unique_ptr<Transport>> wrap_with_faults(
    std::vector<std::unique_ptr<Transport>> transports, const std::vector<FaultRule>& rules);

}  // namespace colossus::transport
