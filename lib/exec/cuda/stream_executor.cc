// stream_executor.cc: collectives on device buffers, enqueued on the caller's
// stream (stream_executor.hpp). CUDA builds only; stream_executor_none.cc
// stands in without CUDA.
#include "exec/cuda/stream_executor.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>

#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "exec/cuda/device_executor.hpp"
#include "exec/cuda/device_links.hpp"
#include "exec/cuda/host_proxy.hpp"

namespace colossus::exec::gpu {
namespace {

inline constexpr int kMaxStatus = 64;  // channels a Plan may have (Settings caps nchannels)

[[noreturn]] void fail_cuda(const std::string& what, cudaError_t e) {
  throw Error(ErrorCode::CudaError,
              what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail_cuda(what, e);
}

// Sets the communicator's device for the call, and gives the caller's back.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() {
    int now = -1;
    if (previous_ >= 0 && cudaGetDevice(&now) == cudaSuccess && now != previous_)
      cudaSetDevice(previous_);
  }

 private:
  int previous_ = -1;
};

// While any thread captures a graph in global mode (another rank's thread,
// say), the allocations and copies a first call needs are legal only in
// relaxed mode; so is this thread's own capture. NCCL does the same.
class RelaxedCapture {
 public:
  RelaxedCapture() { cudaThreadExchangeStreamCaptureMode(&mode_); }
  ~RelaxedCapture() { cudaThreadExchangeStreamCaptureMode(&mode_); }

 private:
  cudaStreamCaptureMode mode_ = cudaStreamCaptureModeRelaxed;
};

// A Plan's steps and connection tables in device memory, and the launch
// parameters that do not change between calls.
struct DevicePlan {
  void* memory = nullptr;
  std::vector<DeviceWork> works;
  ~DevicePlan() { cudaFree(memory); }
};

class CudaStreamExecutor final : public StreamExecutor {
 public:
  explicit CudaStreamExecutor(StreamSetup setup) : setup_(std::move(setup)) {
    DeviceGuard guard(setup_.device);
    check(cudaStreamCreateWithFlags(&setup_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cudaEventCreateWithFlags(&last_, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventCreateWithFlags(&capture_last_, cudaEventDisableTiming), "cudaEventCreate");
    void* flag = nullptr;
    check(cudaHostAlloc(&flag, sizeof(int), cudaHostAllocMapped | cudaHostAllocPortable),
          "cudaHostAlloc");
    abort_host_ = static_cast<volatile int*>(flag);
    *abort_host_ = 0;
    void* flag_dev = nullptr;
    check(cudaHostGetDevicePointer(&flag_dev, flag, 0), "cudaHostGetDevicePointer");
    abort_dev_ = static_cast<volatile int*>(flag_dev);
    check(cudaHostAlloc(reinterpret_cast<void**>(&status_host_), sizeof(DeviceStatus) * kMaxStatus,
                        cudaHostAllocMapped | cudaHostAllocPortable),
          "cudaHostAlloc");
    for (int c = 0; c < kMaxStatus; ++c) status_host_[c] = DeviceStatus{};
    check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&status_dev_), status_host_, 0),
          "cudaHostGetDevicePointer");
    if (setup_.net) {
      proxy_ = std::make_unique<HostProxy>(std::move(setup_.net), setup_.slot_bytes, setup_.depth,
                                           abort_host_);
    }
    links_ = std::make_unique<DeviceLinks>(setup_, proxy_.get(), setup_stream_);
  }

  ~CudaStreamExecutor() override {
    DeviceGuard guard(setup_.device);
    RelaxedCapture relaxed;  // frees are legal while another thread captures
    const bool drained = drain();
    // Peers may still acknowledge our last messages (a store into our
    // arenas); the proxy may still ship them. Wait for both, then stop the
    // proxy before the rings it polls are freed, and let IPC peers unmap
    // our arenas before we free them.
    if (drained && failed_.empty() && *abort_host_ == 0 && links_) {
      links_->quiesce(setup_.timeout_s);
    }
    proxy_.reset();
    if (links_) links_->close(drained && failed_.empty() ? setup_.timeout_s : 0);
    links_.reset();
    plans_.clear();
    for (void* s : scratch_) cudaFree(s);
    cudaFreeHost(status_host_);
    cudaFreeHost(const_cast<int*>(abort_host_));
    cudaEventDestroy(capture_last_);
    cudaEventDestroy(last_);
    cudaStreamDestroy(setup_stream_);
  }

  int device() const override { return setup_.device; }

  void check_error() override {
    if (!failed_.empty()) throw Error(failed_code_, failed_);
    if (proxy_ && !proxy_->error().empty()) {
      fail(ErrorCode::RemoteError, "device collective: network proxy: " + proxy_->error());
    }
    for (int c = 0; c < kMaxStatus; ++c) {
      const volatile DeviceStatus& s = status_host_[c];
      if (s.error == 0) continue;
      const bool timeout = s.error == static_cast<int>(DeviceError::Timeout);
      fail(timeout ? ErrorCode::Timeout : ErrorCode::RemoteError,
           "device collective: channel " + std::to_string(c) + " stopped in step " +
               std::to_string(s.step) + " (" +
               (timeout ? "no progress within the timeout, " + std::to_string(setup_.timeout_s) +
                              " s (COLOSSUS_TIMEOUT_S)"
                        : std::string("aborted")) +
               "); the communicator is unusable");
    }
  }

  void run(const plan::Plan& plan, const void* send, void* recv, cudaStream_t stream) override {
    DeviceGuard guard(setup_.device);
    check_error();
    check_stream(stream);
    check_pointer(send, "send");  // null where the rank does not use it: validate_call's job
    check_pointer(recv, "recv");
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    check(cudaStreamIsCapturing(stream, &capture), "cudaStreamIsCapturing");
    const bool capturing = capture == cudaStreamCaptureStatusActive;
    DevicePlan* dp = nullptr;
    void* scratch = nullptr;
    try {
      RelaxedCapture relaxed;
      dp = &device_plan(plan);
      scratch = scratch_for(plan.scratch_count * dtype_size(plan.args.dtype));
    } catch (const Error& e) {
      // A connection exchange that failed half way leaves the ranks out of
      // step: nothing later can be trusted.
      if (e.code() != ErrorCode::InvalidArgument) fail(e.code(), e.what());
      throw;
    }
    // One communicator's collectives run in call order whatever the streams
    // (its connections' counters assume it): each launch waits for the last
    // one. In a graph, as external nodes: a replay waits for the eager call
    // before it, and the next eager call waits for the replay.
    unsigned long long capture_id = 0;
    if (capturing) {
      check(cudaStreamGetCaptureInfo(stream, &capture, &capture_id), "cudaStreamGetCaptureInfo");
      // Inside one capture (streams forked from one origin), an internal
      // edge from this communicator's previous captured call.
      if (capture_seen_ && capture_id == last_capture_id_)
        check(cudaStreamWaitEvent(stream, capture_last_, 0), "cudaStreamWaitEvent");
      check(cudaStreamWaitEvent(stream, last_, cudaEventWaitExternal), "cudaStreamWaitEvent");
    } else if (last_stream_set_) {
      // Also on the same stream: a graph replayed elsewhere recorded it since.
      check(cudaStreamWaitEvent(stream, last_, 0), "cudaStreamWaitEvent");
    }
    // The proxy polls slowly when idle; wake it when the stream gets here
    // (a host node: in a graph too, each replay wakes it).
    if (proxy_) check(cudaLaunchHostFunc(stream, &kick_proxy, proxy_.get()), "cudaLaunchHostFunc");
    std::vector<DeviceWork> works = dp->works;
    for (DeviceWork& w : works) {
      w.buffers[static_cast<int>(plan::Buffer::Send)] = const_cast<void*>(send);
      w.buffers[static_cast<int>(plan::Buffer::Recv)] = recv;
      w.buffers[static_cast<int>(plan::Buffer::Scratch)] = scratch;
    }
    // From here on the peers may be running this call: a failure leaves the
    // connections out of step, so it makes the communicator unusable.
    auto enqueued = [&](cudaError_t e, const char* what) {
      if (e != cudaSuccess) {
        fail(ErrorCode::CudaError, std::string("device collective: ") + what + ": " +
                                       cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
      }
    };
    for (std::size_t first = 0; first < works.size(); first += kMaxWorksPerLaunch) {
      const int n =
          static_cast<int>(std::min<std::size_t>(kMaxWorksPerLaunch, works.size() - first));
      enqueued(
          launch_channels(plan.args.dtype, plan.args.op, works.data() + first, n, false, stream),
          "launch");
    }
    if (capturing) {
      enqueued(cudaEventRecord(capture_last_, stream), "cudaEventRecord");
      last_capture_id_ = capture_id;
      capture_seen_ = true;
      enqueued(cudaEventRecordWithFlags(last_, stream, cudaEventRecordExternal), "cudaEventRecord");
    } else {
      enqueued(cudaEventRecord(last_, stream), "cudaEventRecord");
    }
    last_stream_ = stream;
    last_stream_set_ = true;
    if (proxy_) proxy_->kick();  // and now: the stream may be there already
  }

 private:
  [[noreturn]] void fail(ErrorCode code, const std::string& what) {
    failed_code_ = code;
    failed_ = what;
    throw Error(code, what);
  }

  static void CUDART_CB kick_proxy(void* proxy) { static_cast<HostProxy*>(proxy)->kick(); }

  // Ranks on threads sharing one GPU wait on each other's kernels: those must
  // run at the same time, so no rank may use the legacy default stream,
  // which serializes against every blocking stream.
  void check_stream(cudaStream_t stream) {
    if (setup_.threads_sharing_gpu <= 1) return;
    if (stream == nullptr || stream == cudaStreamLegacy) {
      throw Error(ErrorCode::InvalidArgument,
                  "device collective: " + std::to_string(setup_.threads_sharing_gpu) +
                      " ranks of this process share the GPU; each needs a stream of its own "
                      "(cudaStreamCreateWithFlags(..., cudaStreamNonBlocking)), not the legacy "
                      "default stream");
    }
    unsigned flags = 0;
    if (!warned_blocking_ && cudaStreamGetFlags(stream, &flags) == cudaSuccess &&
        (flags & cudaStreamNonBlocking) == 0) {
      warned_blocking_ = true;
      CLOG(Warn) << "device collective on a blocking stream while " << setup_.threads_sharing_gpu
                 << " ranks share the GPU: any work on the legacy default stream meanwhile "
                    "serializes their kernels into a deadlock (until COLOSSUS_TIMEOUT_S); "
                    "prefer cudaStreamNonBlocking";
    }
  }

  void check_pointer(const void* p, const char* what) const {
    if (p == nullptr) return;
    cudaPointerAttributes a{};
    const cudaError_t e = cudaPointerGetAttributes(&a, p);
    if (e != cudaSuccess) {
      cudaGetLastError();  // do not leave it for the launch to report
      throw Error(ErrorCode::InvalidArgument, std::string("device collective: ") + what +
                                                  " is not a pointer CUDA knows (" +
                                                  cudaGetErrorString(e) + ")");
    }
    if (a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string("device collective: ") + what +
                      " is host memory; pass device memory, or call the overload without a stream");
    }
    if (a.type == cudaMemoryTypeDevice && a.device != setup_.device) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string("device collective: ") + what + " is memory of device " +
                      std::to_string(a.device) + "; this communicator is bound to device " +
                      std::to_string(setup_.device));
    }
  }

  DevicePlan& device_plan(const plan::Plan& plan) {
    const auto key = std::make_tuple(static_cast<int>(plan.args.coll), plan.args.count,
                                     static_cast<int>(plan.args.dtype),
                                     static_cast<int>(plan.args.op), plan.args.root);
    if (auto it = plans_.find(key); it != plans_.end()) return *it->second;
    const int nch = static_cast<int>(plan.channels.size());
    if (nch > kMaxStatus) {
      throw Error(ErrorCode::InvalidArgument, "device collective: " + std::to_string(nch) +
                                                  " channels; at most " +
                                                  std::to_string(kMaxStatus));
    }
    std::vector<EncodedChannel> enc;
    std::vector<std::pair<int, int>> needed;
    for (int c = 0; c < nch; ++c) {
      enc.push_back(encode_channel(plan.channels[static_cast<std::size_t>(c)]));
      for (const int peer : enc.back().peers) needed.emplace_back(peer, c);
    }
    links_->connect(needed);

    // One allocation: every channel's steps, then every channel's conns.
    std::size_t step_total = 0, conn_total = 0;
    for (const auto& e : enc) step_total += e.steps.size(), conn_total += e.peers.size();
    std::vector<char> host(step_total * sizeof(DeviceStep) + conn_total * sizeof(DeviceConn));
    auto dp = std::make_unique<DevicePlan>();
    if (!host.empty()) check(cudaMalloc(&dp->memory, host.size()), "cudaMalloc (plan)");
    char* const base = static_cast<char*>(dp->memory);
    std::size_t off = 0;
    const int divisor = plan.args.op == ReduceOp::Avg ? plan.args.nranks : 1;
    for (int c = 0; c < nch; ++c) {
      const EncodedChannel& e = enc[static_cast<std::size_t>(c)];
      if (e.steps.empty()) continue;  // a channel with nothing to do launches no block
      DeviceWork w;
      std::memcpy(host.data() + off, e.steps.data(), e.steps.size() * sizeof(DeviceStep));
      w.steps = reinterpret_cast<const DeviceStep*>(base + off);
      w.num_steps = static_cast<int>(e.steps.size());
      off += e.steps.size() * sizeof(DeviceStep);
      for (std::size_t i = 0; i < e.peers.size(); ++i) {
        const DeviceConn& k = links_->conn(e.peers[i], c);
        std::memcpy(host.data() + off + i * sizeof(DeviceConn), &k, sizeof k);
      }
      w.conns = reinterpret_cast<DeviceConn*>(base + off);
      w.num_conns = static_cast<int>(e.peers.size());
      off += e.peers.size() * sizeof(DeviceConn);
      w.slot_bytes = setup_.slot_bytes;
      w.depth = setup_.depth;
      w.divisor = divisor;
      w.timeout_ns = static_cast<std::uint64_t>(std::min(setup_.timeout_s, 1e9) * 1e9);
      w.abort = abort_dev_;
      w.status = status_dev_ + c;
      dp->works.push_back(w);
    }
    if (!host.empty()) {
      check(cudaMemcpyAsync(dp->memory, host.data(), host.size(), cudaMemcpyHostToDevice,
                            setup_stream_),
            "cudaMemcpyAsync (plan)");
      check(cudaStreamSynchronize(setup_stream_), "cudaStreamSynchronize (plan)");
    }
    CLOG_SUB(Trace, Coll) << "device plan for " << to_string(plan.args.coll) << " count "
                          << plan.args.count << ": " << dp->works.size() << " blocks, "
                          << step_total << " steps";
    // Plans are kept for the communicator's life: a captured graph may
    // replay a launch that points at them at any time.
    return *plans_.emplace(key, std::move(dp)).first->second;
  }

  void* scratch_for(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    if (bytes <= scratch_bytes_) return scratch_.back();
    void* p = nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc (scratch)");
    // The smaller one may still be in use by an enqueued launch or a graph:
    // kept until the communicator goes.
    scratch_.push_back(p);
    scratch_bytes_ = bytes;
    return p;
  }

  // Waits (with the deadline) for the last enqueued collective; past it,
  // raises the abort flag so that no kernel outlives the memory it uses.
  bool drain() {
    if (!last_stream_set_) return true;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(setup_.timeout_s);
    while (cudaEventQuery(last_) == cudaErrorNotReady) {
      if (std::chrono::steady_clock::now() > deadline) {
        CLOG(Warn) << "device communicator destroyed with a collective still running after "
                   << setup_.timeout_s << " s: aborting it";
        *abort_host_ = 1;
        cudaEventSynchronize(last_);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  StreamSetup setup_;
  cudaStream_t setup_stream_ = nullptr;
  cudaEvent_t last_ = nullptr;          // this communicator's last call, wherever it ran
  cudaEvent_t capture_last_ = nullptr;  // its last call in the capture last_capture_id_
  unsigned long long last_capture_id_ = 0;
  bool capture_seen_ = false;
  bool warned_blocking_ = false;
  cudaStream_t last_stream_ = nullptr;
  bool last_stream_set_ = false;
  volatile int* abort_host_ = nullptr;
  volatile int* abort_dev_ = nullptr;
  DeviceStatus* status_host_ = nullptr;
  DeviceStatus* status_dev_ = nullptr;
  std::unique_ptr<HostProxy> proxy_;
  std::unique_ptr<DeviceLinks> links_;
  std::map<std::tuple<int, std::size_t, int, int, int>, std::unique_ptr<DevicePlan>> plans_;
  std::vector<void*> scratch_;
  std::size_t scratch_bytes_ = 0;
  std::string failed_;
  ErrorCode failed_code_ = ErrorCode::Success;
};

}  // namespace

DeviceInfo describe_device(int device) {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    throw Error(ErrorCode::InvalidArgument,
                "CUDA device " + std::to_string(device) + ": " + cudaGetErrorString(e));
  }
  if (device < 0 || device >= count) {
    throw Error(ErrorCode::InvalidArgument, "CUDA device " + std::to_string(device) +
                                                " does not exist (" + std::to_string(count) +
                                                " visible)");
  }
  DeviceInfo info;
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  char bus[32] = {};
  check(cudaDeviceGetPCIBusId(bus, sizeof bus, device), "cudaDeviceGetPCIBusId");
  info.bus_id = bus;
  info.name = prop.name;
  DeviceGuard guard(device);
  info.resident_blocks = prop.multiProcessorCount * channel_blocks_per_sm();
  return info;
}

bool is_device_memory(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();  // an unknown pointer is host memory; clear the sticky error
    return false;
  }
  return a.type == cudaMemoryTypeDevice;
}

std::unique_ptr<StreamExecutor> make_stream_executor(StreamSetup setup) {
  if (setup.control == nullptr || setup.slot_bytes == 0 || setup.depth == 0) {
    throw Error(ErrorCode::InternalError, "make_stream_executor: incomplete setup");
  }
  return std::make_unique<CudaStreamExecutor>(std::move(setup));
}

}  // namespace colossus::exec::gpu
