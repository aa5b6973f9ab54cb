// nccl/device.cc: which CUDA device a new communicator binds to.
//
// As in NCCL, a process that sees CUDA devices makes device communicators:
// each binds to the device the calling thread selected (cudaSetDevice;
// device 0 if it selected none), and its calls take device pointers and run
// on the given stream. A process without one makes host communicators. CUDA
// is loaded at run time, so libnccl.so.2 has no CUDA dependency: no driver,
// or cuInit failing (no GPU, CUDA_VISIBLE_DEVICES=""), means no device.
#include <dlfcn.h>

#include <string>

#include "nccl/nccl_impl.hpp"

namespace colossus::nccl {

int cuda_device_count() {
  static const int count = [] {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return 0;
    using InitFn = int (*)(unsigned);
    using CountFn = int (*)(int*);
    auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
    auto get_count = reinterpret_cast<CountFn>(dlsym(lib, "cuDeviceGetCount"));
    int n = 0;
    if (!init || !get_count || init(0) != 0 || get_count(&n) != 0) n = 0;
    return n;  // the driver stays loaded: unloading it is not safe after cuInit
  }();
  return count;
}

int current_cuda_device() {
  // The program's CUDA runtime (already loaded by it, as torch's is), else
  // any we can load; cudaGetDevice answers for the calling thread.
  using GetDevice = int (*)(int*);
  static const GetDevice get_device = [] {
    for (int flags : {RTLD_NOW | RTLD_NOLOAD, RTLD_NOW})
      for (const char* name : {"libcudart.so.13", "libcudart.so.12", "libcudart.so"})
        if (void* lib = dlopen(name, flags | RTLD_LOCAL))
          if (void* f = dlsym(lib, "cudaGetDevice")) return reinterpret_cast<GetDevice>(f);
    return static_cast<GetDevice>(nullptr);
  }();
  int device = 0;
  if (!get_device || get_device(&device) != 0) return 0;  // CUDA's default device
  return device;
}

void bind_device(Options& options) {
  if (cuda_device_count() > 0) options.cuda_device = current_cuda_device();
}

}  // namespace colossus::nccl
