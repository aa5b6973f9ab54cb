// communicator.cc: a rank's communicator: construction (root and split),
// its Plan cache, one call from validation to the executor, and the public
// handle's collectives.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <string>

#include "base/logging.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "comm/validate.hpp"
#include "topology/host.hpp"

namespace colossus {

namespace detail {

constexpr std::size_t kMaxCachedPlans = 256;

namespace {

// The transport's own slot bounds the chunk (a test may build one with
// smaller slots than the settings say): a step of more than slot x (depth-1)
// bytes can deadlock two ranks that send to each other first.
tune::TunerLimits tuner_limits(const Settings& s, std::size_t transport_slot) {
  tune::TunerLimits l;
  l.max_chunk_bytes =
      std::min(s.slot_bytes, transport_slot) * static_cast<std::size_t>(s.fifo_depth - 1);
  if (s.nchannels_fixed) {
    l.nchannels = {std::min(s.nchannels, s.max_channels)};
  } else {
    l.bound_nchannels(s.nchannels_lo, s.nchannels_hi);
  }
  std::erase_if(l.nchannels, [&](int n) { return n > s.max_channels; });
  if (l.nchannels.empty()) l.nchannels = {s.max_channels};
  if (s.chunk_fixed) l.chunk_bytes = {s.chunk_bytes};
  return l;
}

}  // namespace

namespace {
std::shared_ptr<Link> make_link(std::unique_ptr<transport::Transport> transport,
                                std::unique_ptr<bootstrap::OutOfBand> oob, double timeout_s) {
  auto link = std::make_shared<Link>();
  link->oob = std::move(oob);
  link->root_rank = transport->rank();
  link->transport = std::move(transport);
  link->executor = std::make_unique<exec::Executor>(*link->transport, timeout_s);
  link->use_failure_state(link->failure);
  return link;
}
}  // namespace

CommImpl::CommImpl(std::unique_ptr<transport::Transport> transport, const Settings& settings,
                   algorithms::Layout layout, tune::CostModel model,
                   std::unique_ptr<bootstrap::OutOfBand> oob)
    : rank_(transport->rank()),
      nranks_(transport->nranks()),
      settings_(settings),
      link_(make_link(std::move(transport), std::move(oob), settings.timeout_s)),
      transport_(link_->transport.get()),
      layout_(layout.nranks() == nranks_ ? layout : algorithms::Layout::single_node(nranks_)),
      tuner_(layout.nranks() == nranks_ ? std::move(model)
                                        : tune::host_memory_model(topology::local_host().cores),
             layout_, tune::AlgoFilter::parse(settings.algo),
             tuner_limits(settings, transport_->slot_bytes())) {
  const tune::CostModel& m = tuner_.model();
  const bool oversubscribed = m.cores_per_node > 0 && layout_.max_per_node() > m.cores_per_node;
  if (oversubscribed) {
    link_->executor->set_spin_for(std::chrono::microseconds(0));
    link_->executor->set_yield_for(std::chrono::microseconds(0));
  }
  if (rank_ == 0) {
    CLOG_SUB(Info, Init) << "rank 0/" << nranks_ << " on " << topology::local_host().summary()
                         << "; " << transport_->name() << " transport, slot "
                         << transport_->slot_bytes() << " B; " << layout_.describe() << "; timeout "
                         << settings_.timeout_s << " s";
    CLOG_SUB(Info, Tuning) << tuner_.model().describe();
    if (!settings_.algo.empty()) {
      CLOG_SUB(Info, Tuning) << "algorithms restricted to \"" << settings_.algo << "\"";
    }
  }
}

CommImpl::CommImpl(std::unique_ptr<transport::Transport> transport, const Settings& settings,
                   std::unique_ptr<bootstrap::OutOfBand> oob)
    : CommImpl(std::move(transport), settings, algorithms::Layout(), tune::CostModel(),
               std::move(oob)) {}

namespace {
std::vector<int> compose(const std::vector<int>& outer, const std::vector<int>& members) {
  std::vector<int> r;
  for (const int m : members) r.push_back(outer.empty() ? m : outer[static_cast<std::size_t>(m)]);
  return r;
}
algorithms::Layout restrict(const algorithms::Layout& l, const std::vector<int>& members) {
  std::vector<int> nodes;
  for (const int m : members) nodes.push_back(l.node_of(m));
  return algorithms::Layout::from_nodes(nodes);
}
}  // namespace

CommImpl::CommImpl(const CommImpl& parent, int rank, const std::vector<int>& members, int space)
    : rank_(rank),
      nranks_(static_cast<int>(members.size())),
      settings_(parent.settings_),
      link_(parent.link_),
      to_root_(compose(parent.to_root_, members)),
      channel_base_(space * Link::kChannelsPerComm),
      transport_(parent.transport_),
      layout_(parent.restrict_layout(members)),
      tuner_(parent.tuner_.model(), layout_, tune::AlgoFilter::parse(settings_.algo),
             tuner_limits(settings_, transport_->slot_bytes())) {
  if (rank_ == 0) {
    CLOG_SUB(Info, Init) << "split: " << nranks_ << " ranks (" << layout_.describe()
                         << ") on the parent's " << transport_->name()
                         << " connections, transport channels " << channel_base_ << ".."
                         << channel_base_ + Link::kChannelsPerComm - 1;
  }
}

algorithms::Layout CommImpl::restrict_layout(const std::vector<int>& members) const {
  return restrict(layout_, members);
}

uint64_t new_local_group() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

CommImpl::~CommImpl() {
  if (to_root_.empty()) return;  // the root's space 0 is never handed out
  std::lock_guard lock(link_->mutex);
  link_->free_spaces.insert(channel_base_ / Link::kChannelsPerComm);
}

const plan::Plan& CommImpl::plan_for(const plan::CollArgs& a) {
  const PlanKey key{static_cast<int>(a.coll), a.count, static_cast<int>(a.dtype),
                    static_cast<int>(a.op), a.root};
  const bool cached = a.coll != plan::Collective::AllToAllv;
  if (auto it = plans_.find(key); cached && it != plans_.end()) return it->second;
  if (plans_.size() >= kMaxCachedPlans) plans_.clear();
  plan::Plan p;
  if (plan::is_p2p(a.coll) || a.coll == plan::Collective::AllToAllv) {
    p = fixed_plan(a);
  } else {
    const tune::Choice choice = tuner_.choose(a);
    const algorithms::AlgoParams params{choice.best.nchannels, choice.best.chunk_bytes, &layout_};
    p = algorithms::make_plan(choice.best.algo, a, rank_, params);
    if (rank_ == 0) {
      CLOG_SUB(Info, Tuning) << tune::summary(a, choice) << "; " << p.num_steps()
                             << " steps on rank 0";
      CLOG_SUB(Trace, Tuning) << "candidates:\n" << tune::explain(a, choice);
    }
  }
  CLOG_SUB(Trace, Coll) << describe(p);
  p = to_link(std::move(p));
  if (!cached) plans_.erase(key);
  return plans_.insert_or_assign(key, std::move(p)).first->second;
}

plan::Plan CommImpl::fixed_plan(const plan::CollArgs& a) const {
  if (plan::is_p2p(a.coll)) return algorithms::direct_plan(a, rank_, {});
  // Alltoallv: every rank must cut every block alike whatever its own
  // totals, so the parameters are fixed: the configured channels (or 2, kept
  // within NCCL_MIN_NCHANNELS..NCCL_MAX_NCHANNELS) and
  // the largest chunk the FIFO takes.
  const int nch = settings_.nchannels_fixed
                      ? std::min(settings_.nchannels, settings_.max_channels)
                      : std::min(std::clamp(2, settings_.nchannels_lo, settings_.nchannels_hi),
                                 settings_.max_channels);
  const std::size_t chunk = std::min(settings_.slot_bytes, transport_->slot_bytes()) *
                            static_cast<std::size_t>(settings_.fifo_depth - 1);
  return algorithms::pairwise_plan(a, rank_, {nch, chunk, &layout_});
}

plan::Plan CommImpl::to_link(plan::Plan p) const {
  if (to_root_.empty()) return p;
  auto root = [&](int r) { return r < 0 ? r : to_root_[static_cast<std::size_t>(r)]; };
  for (auto& ch : p.channels) {
    for (auto& s : ch.steps) {
      s.send_peer = root(s.send_peer);
      s.recv_peer = root(s.recv_peer);
    }
  }
  p.rank = root(p.rank);
  p.channel_base += channel_base_;
  return p;
}

void CommImpl::collective(const plan::CollArgs& args, const void* send, void* recv) {
  comm::validate_call(args, rank_, send, recv);
  if (device_) check_host_buffers(args, send, recv);
  if (group_depth() > 0) {
    group_record(shared_from_this(), Call{args, send, recv, nullptr});
    return;
  }
  if (plan::is_p2p(args.coll) && args.root == rank_ && args.count > 0) {
    throw Error(ErrorCode::InvalidUsage,
                std::string(to_string(args.coll)) +
                    " to this rank itself outside a group: it would wait for its own matching "
                    "call; issue both between group_start() and group_end()");
  }
  // One call outside a group: straight to the executor (run_calls is for
  // groups and self sends; its bookkeeping costs a small call's latency).
  link_->check_usable(to_string(args.coll));
  if (plan::moves_nothing(args)) return;
  std::lock_guard lock(link_->mutex);
  link_->check_usable(to_string(args.coll));
  try {
    const plan::Plan& p = plan_for(args);
    const std::size_t scratch_bytes = p.scratch_count * dtype_size(args.dtype);
    if (scratch_.size() < scratch_bytes) scratch_.resize(scratch_bytes);
    link_->executor->run(p, exec::Buffers{send, recv, scratch_.data()});
  } catch (const Error& e) {
    link_->note_failure(e);
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::SystemError, std::string(to_string(args.coll)) +
                                            ": out of memory (count " + std::to_string(args.count) +
                                            ")");
  }
}

}  // namespace detail

Communicator::Communicator(std::shared_ptr<detail::CommImpl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;
Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&&) noexcept = default;

detail::CommImpl& Communicator::impl(const char* call) const {
  if (pending_) return pending_->get(call);
  if (!impl_) {
    throw Error(ErrorCode::InvalidUsage,
                std::string(call) + ": communicator is destroyed or was never initialized");
  }
  return *impl_;
}

bool Communicator::valid() const { return impl_ != nullptr || pending_ != nullptr; }
int Communicator::rank() const { return impl("rank").rank(); }
int Communicator::size() const { return impl("size").nranks(); }
void Communicator::destroy() {
  impl_.reset();
  pending_.reset();
}

namespace detail {
plan::CollArgs make_args(plan::Collective coll, std::size_t count, DataType type, ReduceOp op,
                         int root, int nranks) {
  plan::CollArgs a;
  a.coll = coll;
  a.count = count;
  a.dtype = type;
  a.op = op;
  a.root = root;
  a.nranks = nranks;
  return a;
}
}  // namespace detail
using detail::make_args;

void Communicator::allreduce(const void* send, void* recv, std::size_t count, DataType type,
                             ReduceOp op) {
  auto& c = impl("allreduce");
  c.collective(make_args(plan::Collective::AllReduce, count, type, op, 0, c.nranks()), send, recv);
}

void Communicator::allgather(const void* send, void* recv, std::size_t sendcount, DataType type) {
  auto& c = impl("allgather");
  c.collective(
      make_args(plan::Collective::AllGather, sendcount, type, ReduceOp::Sum, 0, c.nranks()), send,
      recv);
}

void Communicator::reduce_scatter(const void* send, void* recv, std::size_t recvcount,
                                  DataType type, ReduceOp op) {
  auto& c = impl("reduce_scatter");
  c.collective(make_args(plan::Collective::ReduceScatter, recvcount, type, op, 0, c.nranks()), send,
               recv);
}

void Communicator::broadcast(const void* send, void* recv, std::size_t count, DataType type,
                             int root) {
  auto& c = impl("broadcast");
  c.collective(make_args(plan::Collective::Broadcast, count, type, ReduceOp::Sum, root, c.nranks()),
               send, recv);
}

void Communicator::reduce(const void* send, void* recv, std::size_t count, DataType type,
                          ReduceOp op, int root) {
  auto& c = impl("reduce");
  c.collective(make_args(plan::Collective::Reduce, count, type, op, root, c.nranks()), send, recv);
}

}  // namespace colossus
