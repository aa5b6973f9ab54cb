// memory_host.cc: host buffers for the *_perf tools (memory.hpp).
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "perf/memory.hpp"

namespace colossus::perf {
namespace {

class HostMemory final : public RankMemory {
 public:
  ~HostMemory() override {
    for (void* p : blocks_) std::free(p);
  }
  bool device() const override { return false; }
  // Page-aligned and touched by the calling thread (the rank's), so its
  // pages are placed near that thread and no page fault lands in a timed call.
  unsigned char* allocate(std::size_t bytes) override {
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096;
    auto* p = static_cast<unsigned char*>(std::aligned_alloc(4096, rounded));
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, rounded);
    blocks_.push_back(p);
    return p;
  }
  void upload(unsigned char* dst, const unsigned char* src, std::size_t n) override {
    if (dst != src) std::memcpy(dst, src, n);
  }
  void download(unsigned char* dst, const unsigned char* src, std::size_t n) override {
    if (dst != src) std::memcpy(dst, src, n);
  }
  cudaStream_t stream() override { return nullptr; }
  void synchronize() override {}
  void begin_capture() override {
    throw Error(ErrorCode::InvalidUsage, "-G needs --buffers device");
  }
  void end_capture() override { throw Error(ErrorCode::InvalidUsage, "-G needs --buffers device"); }
  void launch_graph() override {
    throw Error(ErrorCode::InvalidUsage, "-G needs --buffers device");
  }
  std::string describe() const override { return "[cpu] host memory"; }
  int device_index() const override { return -1; }

 private:
  std::vector<void*> blocks_;
};

}  // namespace

std::unique_ptr<RankMemory> make_host_memory() { return std::make_unique<HostMemory>(); }

int launcher_local_rank() {
  for (const char* name :
       {"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return std::atoi(v);
  }
  return 0;
}

}  // namespace colossus::perf
