// nccl/device.cc: does this process have a usable CUDA device?
//
// The C API serves host communicators only, so far: a process that sees a
// CUDA device expects NCCL's device-buffer semantics, which the C layer
// cannot give yet, and its init calls say so (ncclInvalidUsage) rather than
// read device pointers as host memory. The driver is loaded at run time, so
// libnccl.so.2 has no CUDA dependency; no driver, or cuInit failing (no
// GPU, CUDA_VISIBLE_DEVICES=""), means no device.
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

void require_host_process(const char* fn) {
  const int n = cuda_device_count();
  if (n > 0)
    not_implemented(fn, "communicators on CUDA devices through the C API (this process sees " +
                            std::to_string(n) +
                            " CUDA device(s); hide them with CUDA_VISIBLE_DEVICES= for host "
                            "communicators on host buffers)");
}

}  // namespace colossus::nccl
