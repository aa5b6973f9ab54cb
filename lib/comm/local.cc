// local.cc: loopback_group, n ranks as threads of this process over the
// loopback transport, sharing one failure state (a rank's abort or error
// stops them all).
#include "base/logging.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "comm/placement.hpp"
#include "transports/loopback/loopback.hpp"

namespace colossus {

namespace {
constexpr int kMaxLoopbackRanks = 4096;
}  // namespace

std::vector<Communicator> loopback_group(int n, const Options& options) {
  if (n < 1 || n > kMaxLoopbackRanks) {
    throw Error(ErrorCode::InvalidArgument, "loopback_group: n = " + std::to_string(n) +
                                                " out of range [1, " +
                                                std::to_string(kMaxLoopbackRanks) + "]");
  }
  const base::Config& env = base::env_config();
  detail::Settings settings = detail::resolve_settings(options, env);
  if (settings.cuda_device >= 0) {
    // Every thread's rank shares the one GPU.
    const auto info = exec::gpu::describe_device(settings.cuda_device);
    settings.max_channels = detail::device_channel_limit(
        std::vector<std::string>(static_cast<std::size_t>(n), "this process"),
        std::vector<exec::gpu::DeviceInfo>(static_cast<std::size_t>(n), info));
  }
  const comm::Placement place = comm::place_local(n, settings.topology);
  CLOG_SUB(Info, Init) << "loopback group: " << place.description;
  auto transports =
      transport::make_loopback_transports(n, settings.slot_bytes, settings.fifo_depth);
  std::vector<Communicator> comms;
  comms.reserve(static_cast<std::size_t>(n));
  // One failure state for the group: a rank's abort or error stops them all.
  auto failure = std::make_shared<base::FailureState>();
  const uint64_t group = detail::new_local_group();
  for (auto& t : transports) {
    auto impl =
        std::make_shared<detail::CommImpl>(std::move(t), settings, place.layout, place.model);
    impl->shared_link().use_failure_state(failure);
    impl->shared_link().local_group = group;
    if (settings.cuda_device >= 0) {
      exec::gpu::StreamSetup setup;
      setup.device = settings.cuda_device;
      setup.reach.assign(static_cast<std::size_t>(n), exec::gpu::PeerReach::SameProcess);
      setup.threads_sharing_gpu = n;
      impl->bind_device(std::move(setup));
    }
    comms.push_back(detail::CommAccess::wrap(std::move(impl)));
  }
  return comms;
}

}  // namespace colossus
