// comm_impl.hpp: one rank's communicator state behind colossus::Communicator.
//
// Owns the rank's transport, its executor, a cache of Plans by call shape
// and the scratch memory Plans ask for. A call goes: validate -> plan (from
// cache or the algorithm) -> executor.
#pragma once

#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "base/config.hpp"
#include "bootstrap/oob.hpp"
#include "colossus/colossus.hpp"
#include "exec/cuda/stream_executor.hpp"
#include "exec/executor.hpp"
#include "transports/transport.hpp"
#include "tune/tuner.hpp"

namespace colossus::detail {

struct Settings {
  int nchannels = 1;
  std::size_t chunk_bytes = 0;
  double timeout_s = 0;
  std::size_t slot_bytes = 0;
  int fifo_depth = 4;
  std::string transport;         // "", "shm" or "tcp"
  std::string algo;              // NCCL_ALGO syntax; "" = all
  std::string topology;          // preset / XML the ranks are mapped onto; "" = real hosts
  bool nchannels_fixed = false;  // given by Options or the environment: not tuned
  bool chunk_fixed = false;
  int cuda_device = -1;   // bound GPU, or -1
  int max_channels = 64;  // device residency bound (ranks sharing a GPU)
};

// The most channels each rank of a bound communicator may run, from every
// rank's device (info[r]) and host (hosts[r]): ranks sharing one GPU are all
// resident at once. Also within the device kernel's one-launch limit.
int device_channel_limit(const std::vector<std::string>& hosts,
                         const std::vector<exec::gpu::DeviceInfo>& info);

plan::CollArgs make_args(plan::Collective coll, std::size_t count, DataType type, ReduceOp op,
                         int root, int nranks);

// Options over the environment over defaults; throws on out-of-range options.
Settings resolve_settings(const Options& options, const base::Config& env);

class CommImpl {
 public:
  // `oob` (the bootstrap of multi-process groups) is kept for the
  // communicator's lifetime; loopback groups have none. `layout` and `model`
  // are what the tuner plans against; every rank passes the same.
  CommImpl(std::unique_ptr<transport::Transport> transport, const Settings& settings,
           algorithms::Layout layout, tune::CostModel model,
           std::unique_ptr<bootstrap::OutOfBand> oob = nullptr);
  // All ranks on this host, the host-memory cost model.
  CommImpl(std::unique_ptr<transport::Transport> transport, const Settings& settings,
           std::unique_ptr<bootstrap::OutOfBand> oob = nullptr);
  ~CommImpl();

  int rank() const { return rank_; }
  int nranks() const { return nranks_; }
  // Validates, plans and runs one collective call.
  void collective(const plan::CollArgs& args, const void* send, void* recv);
  // The same on device buffers, enqueued on `stream` (needs bind_device).
  void collective(const plan::CollArgs& args, const void* send, void* recv, cudaStream_t stream);
  // Binds the communicator to setup.device (construction-time; setup.control
  // is set here to this communicator's own transport).
  void bind_device(exec::gpu::StreamSetup setup);
  int cuda_device() const { return device_ ? device_->device() : -1; }
  void check_async_error();

 private:
  const plan::Plan& plan_for(const plan::CollArgs& args);
  // Bound communicators: host calls must not be handed device memory.
  void check_host_buffers(const plan::CollArgs& args, const void* send, const void* recv) const;

  int rank_;
  int nranks_;
  Settings settings_;
  std::unique_ptr<bootstrap::OutOfBand> oob_;  // outlives the transport built on it
  std::unique_ptr<transport::Transport> transport_;
  exec::Executor executor_;
  algorithms::Layout layout_;
  tune::Tuner tuner_;
  using PlanKey = std::tuple<int, std::size_t, int, int, int>;  // coll, count, dtype, op, root
  std::map<PlanKey, plan::Plan> plans_;
  std::vector<std::byte> scratch_;
  std::unique_ptr<exec::gpu::StreamExecutor> device_;  // after transport_: uses it
};

// The one way to wrap a CommImpl into a public Communicator handle, whose
// constructor from an implementation is private: init, loopback_group and
// tests that assemble a rank from a transport of their own use it.
struct CommAccess {
  static Communicator wrap(std::shared_ptr<CommImpl> impl) { return Communicator(std::move(impl)); }
};

}  // namespace colossus::detail
