// NVML, loaded at run time: NVLink links, their peers (GPU or NVSwitch) and
// GPU names. dlopen keeps the library free of a CUDA dependency: a host
// without the driver simply has no NVLink information.
#include <dlfcn.h>

#include <map>

#include "base/logging.hpp"
#include "topology/discover_parts.hpp"

namespace colossus::topology::detail {

namespace {

// The few NVML types used, as nvml.h declares them (ABI stable since v2/v3).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlPciInfo_t {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};
constexpr unsigned kMaxLinks = 18;                // NVML_NVLINK_MAX_LINKS
constexpr int kRemoteGpu = 0, kRemoteSwitch = 2;  // nvmlIntNvLinkDeviceType_t

struct Nvml {
  void* lib = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*count)(unsigned*) = nullptr;
  nvmlReturn_t (*handle)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*pci)(nvmlDevice_t, nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*link_state)(nvmlDevice_t, unsigned, int*) = nullptr;
  nvmlReturn_t (*link_version)(nvmlDevice_t, unsigned, unsigned*) = nullptr;
  nvmlReturn_t (*remote_pci)(nvmlDevice_t, unsigned, nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*remote_type)(nvmlDevice_t, unsigned, int*) = nullptr;  // optional (R450+)

  bool load() {
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return false;
    auto sym = [&](auto& fn, const char* s) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, s));
    };
    sym(init, "nvmlInit_v2");
    sym(shutdown, "nvmlShutdown");
    sym(count, "nvmlDeviceGetCount_v2");
    sym(handle, "nvmlDeviceGetHandleByIndex_v2");
    sym(pci, "nvmlDeviceGetPciInfo_v3");
    sym(name, "nvmlDeviceGetName");
    sym(link_state, "nvmlDeviceGetNvLinkState");
    sym(link_version, "nvmlDeviceGetNvLinkVersion");
    sym(remote_pci, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
    sym(remote_type, "nvmlDeviceGetNvLinkRemoteDeviceType");
    return init && shutdown && count && handle && pci && name && link_state && link_version &&
           remote_pci;
  }
};

// GB/s per direction of one link by NVLink generation: NVLink1 (P100) 20,
// NVLink2-4 (V100, A100, H100) 25, NVLink5 (B200) 50 (NVIDIA product pages).
double link_gbps(unsigned version) { return version <= 1 ? 20 : version >= 5 ? 50 : 25; }

PciAddr addr(const nvmlPciInfo_t& p) {
  PciAddr a = 0;
  return parse_pci(p.busId, &a) ? a : 0;
}

}  // namespace

void discover_nvml(Topology& t) {
  if (t.gpus.empty()) return;  // nothing to ask; do not load the driver library
  static Nvml nvml;            // loaded once; dlclose of NVML is not worth the risk
  static const bool loaded = nvml.load();
  if (!loaded) {
    CLOG_SUB(Info, Graph) << "topology: NVML (libnvidia-ml.so.1) not found: no NVLink information";
    return;
  }
  if (nvml.init() != 0) {
    CLOG_SUB(Info, Graph) << "topology: nvmlInit failed: no NVLink information";
    return;
  }
  unsigned n = 0;
  nvml.count(&n);
  std::map<PciAddr, Id> gpu_of;
  for (std::size_t i = 0; i < t.gpus.size(); ++i) gpu_of[t.gpus[i].pci] = static_cast<Id>(i);
  std::map<PciAddr, Id> nvswitch_of;
  std::map<std::pair<Id, Ref>, std::pair<int, double>> links;  // (gpu, peer) -> (count, GB/s)
  for (unsigned d = 0; d < n; ++d) {
    nvmlDevice_t dev = nullptr;
    nvmlPciInfo_t info{};
    if (nvml.handle(d, &dev) != 0 || nvml.pci(dev, &info) != 0) continue;
    const auto it = gpu_of.find(addr(info));
    if (it == gpu_of.end()) continue;  // hidden from hwloc (cgroup): skip
    Gpu& g = t.gpus[it->second];
    char name[96] = {};
    if (nvml.name(dev, name, sizeof name) == 0) g.model = t.intern(name);
    for (unsigned l = 0; l < kMaxLinks; ++l) {
      int active = 0;
      nvmlPciInfo_t remote{};
      if (nvml.link_state(dev, l, &active) != 0 || !active || nvml.remote_pci(dev, l, &remote) != 0)
        continue;
      unsigned version = 0;
      nvml.link_version(dev, l, &version);
      int type = -1;
      if (nvml.remote_type && nvml.remote_type(dev, l, &type) != 0) type = -1;
      const PciAddr peer = addr(remote);
      const auto peer_gpu = gpu_of.find(peer);
      Ref ref;
      if (type == kRemoteGpu || (type != kRemoteSwitch && peer_gpu != gpu_of.end())) {
        if (peer_gpu == gpu_of.end()) continue;
        ref = {Kind::Gpu, peer_gpu->second};
      } else {
        auto sw = nvswitch_of.find(peer);
        if (sw == nvswitch_of.end()) {
          t.nvswitches.push_back({0, 0});
          sw = nvswitch_of.emplace(peer, static_cast<Id>(t.nvswitches.size() - 1)).first;
        }
        ref = {Kind::NvSwitch, sw->second};
        g.nvdomain = 0;  // this host's NVSwitch domain; merge_hosts renumbers
      }
      ++g.nvlinks;
      g.nvlink_gbps += link_gbps(version);
      auto& agg = links[{it->second, ref}];
      ++agg.first;
      agg.second += link_gbps(version);
    }
  }
  for (const auto& [key, val] : links) {
    // A GPU-GPU link is seen from both ends: keep it once.
    if (key.second.kind == Kind::Gpu && key.second.index < key.first) continue;
    t.links.push_back(
        {{Kind::Gpu, key.first}, key.second, LinkType::NvLink, val.first, val.second, 0.3});
  }
  nvml.shutdown();
}

}  // namespace colossus::topology::detail
