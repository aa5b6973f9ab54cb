// worker.cc: starting UCP for one transport (context, worker, address)
// and the streams' slot memory.
#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <string>

#include "colossus/error.hpp"
#include "transports/ucx/progress.hpp"

namespace colossus::transport::ucx {

namespace {

[[noreturn]] void fail(const std::string& what, ucs_status_t st) {
  throw Error(ErrorCode::SystemError,
              "ucx: " + what + ": " + ucs_status_string(st) + " (" + std::to_string(st) + ")");
}

// A ucp_config with the transport's options applied over the environment.
struct Config {
  explicit Config(const UcxOptions& o) {
    const ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
    if (st != UCS_OK) fail("ucp_config_read", st);
    set("TLS", o.tls);
    set("NET_DEVICES", o.net_devices);
    if (!o.rdma_device && !std::getenv("UCX_RNDV_THRESH"))
      set("RNDV_THRESH", std::to_string(o.slot_bytes + 1));
  }
  ~Config() { ucp_config_release(config); }
  void set(const char* name, const std::string& value) {
    if (value.empty()) return;
    const ucs_status_t st = ucp_config_modify(config, name, value.c_str());
    if (st != UCS_OK) {
      throw Error(ErrorCode::InvalidArgument, std::string("ucx: UCX_") + name + "=\"" + value +
                                                  "\" is not accepted: " + ucs_status_string(st));
    }
  }
  ucp_config_t* config = nullptr;
};

}  // namespace

Worker::Worker(const UcxOptions& o, int rank) {
  Config cfg(o);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_EPS | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 0;
  params.estimated_num_eps = 8;
  const std::string name = "colossus-rank" + std::to_string(rank);
  params.name = name.c_str();
  ucs_status_t st = ucp_init(&params, cfg.config, &context);
  if (st != UCS_OK) {
    // Some transports cannot wake a sleeper; without WAKEUP, poll instead.
    params.features = UCP_FEATURE_TAG;
    st = ucp_init(&params, cfg.config, &context);
    if (st != UCS_OK) fail("ucp_init", st);
  }
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SINGLE;  // the progress thread makes every call
  st = ucp_worker_create(context, &wp, &worker);
  if (st != UCS_OK) {
    ucp_cleanup(context);
    fail("ucp_worker_create", st);
  }
  ucp_address_t* addr = nullptr;
  std::size_t len = 0;
  st = ucp_worker_get_address(worker, &addr, &len);
  if (st != UCS_OK) {
    ucp_worker_destroy(worker);
    ucp_cleanup(context);
    fail("ucp_worker_get_address", st);
  }
  address.assign(reinterpret_cast<const char*>(addr), len);
  ucp_worker_release_address(worker, addr);
  if (ucp_worker_get_efd(worker, &event_fd) != UCS_OK) event_fd = -1;
}

Worker::~Worker() {
  ucp_worker_destroy(worker);
  ucp_cleanup(context);
}

bool shared_memory_only(const std::string& tls) {
  if (tls.empty() || tls[0] == '^') return false;  // UCX's default, or all but some
  std::size_t at = 0;
  while (at <= tls.size()) {
    std::size_t comma = tls.find(',', at);
    if (comma == std::string::npos) comma = tls.size();
    const std::string name = tls.substr(at, comma - at);
    static const char* const kShared[] = {"sm",  "shm",  "posix", "sysv",
                                          "cma", "knem", "xpmem", "self"};
    if (std::find(std::begin(kShared), std::end(kShared), name) == std::end(kShared)) return false;
    at = comma + 1;
  }
  return true;
}

Stream::Stream(bool s, int p, int ch, std::size_t slot_bytes, int depth)
    : send(s),
      peer(p),
      channel(ch),
      ring(slot_bytes, depth),
      ops(static_cast<std::size_t>(depth)) {}

}  // namespace colossus::transport::ucx
