// settings.cc: Options over the environment over the built-in defaults,
// checked once, before any rank connects (resolve_settings).
#include "base/logging.hpp"
#include "comm/comm_impl.hpp"

namespace colossus::detail {

Settings resolve_settings(const Options& o, const base::Config& env) {
  if (o.nchannels < 0 || o.nchannels > 64) {
    throw Error(ErrorCode::InvalidArgument,
                "Options::nchannels " + std::to_string(o.nchannels) + " out of range [0, 64]");
  }
  if (o.chunk_bytes != 0 && o.chunk_bytes < 16) {
    throw Error(ErrorCode::InvalidArgument, "Options::chunk_bytes must be 0 or at least 16");
  }
  if (o.slot_bytes != 0 && o.slot_bytes < 64) {
    throw Error(ErrorCode::InvalidArgument, "Options::slot_bytes must be 0 or at least 64");
  }
  if (!(o.timeout_s >= 0)) {
    throw Error(ErrorCode::InvalidArgument, "Options::timeout_s must be >= 0");
  }
  Settings s;
  s.nchannels = o.nchannels ? o.nchannels : env.nchannels;
  s.chunk_bytes = o.chunk_bytes ? o.chunk_bytes : env.chunk_bytes;
  s.timeout_s = o.timeout_s > 0 ? o.timeout_s : env.timeout_s;
  s.nchannels_fixed = o.nchannels != 0 || env.nchannels_set;
  s.nchannels_lo = env.min_nchannels;
  s.nchannels_hi = env.max_nchannels;
  s.chunk_fixed = o.chunk_bytes != 0 || env.chunk_set;
  if (!o.transport.empty() && o.transport != "shm" && o.transport != "tcp" &&
      o.transport != "ucx") {
    throw Error(ErrorCode::InvalidArgument, "Options::transport \"" + o.transport +
                                                "\" is not \"shm\", \"tcp\", \"ucx\" or empty");
  }
  s.transport = o.transport.empty() ? env.transport : o.transport;
  s.algo = o.algorithm.empty() ? env.algo : o.algorithm;
  try {
    (void)tune::AlgoFilter::parse(s.algo);  // a bad spec fails here, before any rank connects
  } catch (const Error& e) {
    // NCCL_ALGO may name NCCL's own algorithms (NVLS, PAT, ...): a warning, as NCCL's
    // variables are for a process that did not choose colossus.
    if (!o.algorithm.empty() || env.algo_var == "COLOSSUS_ALGO") throw;
    CLOG(Warn) << env.algo_var << "=" << env.algo << " ignored: " << e.what();
    s.algo.clear();
  }
  s.topology = o.topology.empty() ? env.topo : o.topology;
  // A multiple of 16: the device path places slot k at k * slot_bytes and
  // runs its 16-byte vector loads (and 8-byte scalars) on aligned slots.
  s.slot_bytes = (o.slot_bytes ? o.slot_bytes : env.slot_bytes) / 16 * 16;
  if (o.cuda_device < -1) {
    throw Error(
        ErrorCode::InvalidArgument,
        "Options::cuda_device " + std::to_string(o.cuda_device) + " is not a device (or -1)");
  }
  s.cuda_device = o.cuda_device;
  s.blocking = o.blocking;
  s.fifo_depth = std::max(2, env.fifo_depth);
  s.shm_cma_min = env.shm_cma ? env.shm_cma_min : ~std::size_t{0};
  // A step moves in slot-sized pieces, and a ring step that receives and
  // sends needs a free slot while its own first send still occupies the
  // stream: a chunk of k pieces needs k+1 slots or the ring deadlocks (the
  // verifier proves this with VerifyOptions::slot_elements). Clamp the chunk.
  const std::size_t max_chunk = s.slot_bytes * static_cast<std::size_t>(s.fifo_depth - 1);
  if (s.chunk_bytes > max_chunk) {
    CLOG_SUB(Info, Tuning) << "chunk " << s.chunk_bytes << " B clamped to " << max_chunk
                           << " B = slot " << s.slot_bytes << " B x (FIFO depth " << s.fifo_depth
                           << " - 1)";
    s.chunk_bytes = max_chunk;
  }
  return s;
}

}  // namespace colossus::detail
