// memory_cuda.cc: device buffers for the *_perf tools (memory.hpp). This
// file has its own CUDA runtime (the library hides its own); streams and
// device pointers pass between the two, as they do from PyTorch.
#include <cuda_runtime_api.h>

#include <vector>

#include "perf/memory.hpp"

namespace colossus::perf {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw Error(ErrorCode::CudaError, std::string(what) + ": " + cudaGetErrorName(e) + " (" +
                                          cudaGetErrorString(e) + ")");
  }
}

class DeviceMemory final : public RankMemory {
 public:
  explicit DeviceMemory(int device) : device_(device) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~DeviceMemory() override {
    cudaSetDevice(device_);
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
    for (void* p : blocks_) cudaFree(p);
    cudaStreamDestroy(stream_);
  }
  bool device() const override { return true; }
  unsigned char* allocate(std::size_t bytes) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    void* p = nullptr;
    check(cudaMalloc(&p, std::max<std::size_t>(bytes, 1)), "cudaMalloc");
    blocks_.push_back(p);
    check(cudaMemset(p, 0, std::max<std::size_t>(bytes, 1)), "cudaMemset");
    return static_cast<unsigned char*>(p);
  }
  void upload(unsigned char* dst, const unsigned char* src, std::size_t n) override {
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    synchronize();
  }
  void download(unsigned char* dst, const unsigned char* src, std::size_t n) override {
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    synchronize();
  }
  cudaStream_t stream() override { return stream_; }
  void synchronize() override { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
  void begin_capture() override {
    if (exec_) cudaGraphExecDestroy(exec_), exec_ = nullptr;
    if (graph_) cudaGraphDestroy(graph_), graph_ = nullptr;
    // Thread-local mode: the other ranks' threads keep making their own calls.
    check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal),
          "cudaStreamBeginCapture");
  }
  void end_capture() override {
    check(cudaStreamEndCapture(stream_, &graph_), "cudaStreamEndCapture");
    check(cudaGraphInstantiate(&exec_, graph_, 0), "cudaGraphInstantiate");
  }
  void launch_graph() override { check(cudaGraphLaunch(exec_, stream_), "cudaGraphLaunch"); }
  std::string describe() const override {
    cudaDeviceProp prop{};
    char bus[32] = "?";
    cudaGetDeviceProperties(&prop, device_);
    cudaDeviceGetPCIBusId(bus, sizeof bus, device_);
    return "[" + std::string(bus) + "] " + prop.name;
  }
  int device_index() const override { return device_; }

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  std::vector<void*> blocks_;
};

}  // namespace

std::unique_ptr<RankMemory> make_device_memory(int device) {
  return std::make_unique<DeviceMemory>(device);
}

int process_device() {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess || count == 0) {
    throw Error(ErrorCode::InvalidUsage,
                std::string("--buffers device: no usable GPU (") +
                    (e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device") + ")");
  }
  return launcher_local_rank() % count;
}

}  // namespace colossus::perf
