// memory.hpp: where a *_perf rank's buffers live, and how its calls complete.
//
// Host (the default): buffers in host memory, blocking calls; fills and
// checks touch the buffers directly. Device (--buffers device, as nccl-tests
// always runs): buffers in the rank's GPU, calls enqueued on the rank's own
// stream and timed from enqueue to stream completion; fills and checks go
// through a host mirror, uploaded and downloaded around the untimed calls.
// -G N (device only) captures the timed calls into a CUDA graph once and
// launches it N times, as nccl-tests' -G does.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "colossus/colossus.hpp"

namespace colossus::perf {

class RankMemory {
 public:
  virtual ~RankMemory() = default;
  virtual bool device() const = 0;
  // Zeroed buffer of `bytes` (device or host); owned by this object.
  virtual unsigned char* allocate(std::size_t bytes) = 0;
  virtual void upload(unsigned char* dst, const unsigned char* src, std::size_t bytes) = 0;
  virtual void download(unsigned char* dst, const unsigned char* src, std::size_t bytes) = 0;
  virtual cudaStream_t stream() = 0;  // nullptr for host memory
  virtual void synchronize() = 0;     // the stream's work is done (host: nothing to wait for)
  // Graph capture of the calls made between begin and end; then launches.
  virtual void begin_capture() = 0;
  virtual void end_capture() = 0;
  virtual void launch_graph() = 0;
  // "device 0 [0000:1b:00.0] NVIDIA H100" or "[cpu] host memory", for the report.
  virtual std::string describe() const = 0;
  virtual int device_index() const = 0;  // -1 for host memory
};

std::unique_ptr<RankMemory> make_host_memory();
// This process's GPU: the launcher's local rank modulo the visible devices
// (every thread rank of one process shares it). Throws colossus::Error when
// built without CUDA or when no GPU is usable.
int process_device();
std::unique_ptr<RankMemory> make_device_memory(int device);

// The launcher's local rank of this process (LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK,
// SLURM_LOCALID), or 0.
int launcher_local_rank();

}  // namespace colossus::perf
