// backend_cxx.cc: the *_perf tools' back end over the C++ API (backend.hpp).
#include <utility>

#include "perf/backend.hpp"

namespace colossus::perf {

namespace {

// A stream means device buffers: the stream forms of the calls.
class CxxComm final : public PerfComm {
 public:
  explicit CxxComm(Communicator comm) : comm_(std::move(comm)) {}

  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }

  void allreduce(const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                 cudaStream_t st) override {
    st ? comm_.allreduce(s, r, n, t, op, st) : comm_.allreduce(s, r, n, t, op);
  }
  void allgather(const void* s, void* r, std::size_t n, DataType t, cudaStream_t st) override {
    st ? comm_.allgather(s, r, n, t, st) : comm_.allgather(s, r, n, t);
  }
  void reduce_scatter(const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                      cudaStream_t st) override {
    st ? comm_.reduce_scatter(s, r, n, t, op, st) : comm_.reduce_scatter(s, r, n, t, op);
  }
  void broadcast(const void* s, void* r, std::size_t n, DataType t, int root,
                 cudaStream_t st) override {
    st ? comm_.broadcast(s, r, n, t, root, st) : comm_.broadcast(s, r, n, t, root);
  }
  void reduce(const void* s, void* r, std::size_t n, DataType t, ReduceOp op, int root,
              cudaStream_t st) override {
    st ? comm_.reduce(s, r, n, t, op, root, st) : comm_.reduce(s, r, n, t, op, root);
  }
  void alltoall(const void* s, void* r, std::size_t n, DataType t, cudaStream_t st) override {
    st ? comm_.alltoall(s, r, n, t, st) : comm_.alltoall(s, r, n, t);
  }
  void gather(const void* s, void* r, std::size_t n, DataType t, int root,
              cudaStream_t st) override {
    st ? comm_.gather(s, r, n, t, root, st) : comm_.gather(s, r, n, t, root);
  }
  void scatter(const void* s, void* r, std::size_t n, DataType t, int root,
               cudaStream_t st) override {
    st ? comm_.scatter(s, r, n, t, root, st) : comm_.scatter(s, r, n, t, root);
  }
  void send(const void* buf, std::size_t n, DataType t, int peer) override {
    comm_.send(buf, n, t, peer);
  }
  void recv(void* buf, std::size_t n, DataType t, int peer) override {
    comm_.recv(buf, n, t, peer);
  }
  void group_start() override { colossus::group_start(); }
  void group_end() override { colossus::group_end(); }
  void destroy() override { comm_.destroy(); }

 private:
  Communicator comm_;
};

std::unique_ptr<PerfComm> wrap(Communicator comm) {
  return std::make_unique<CxxComm>(std::move(comm));
}

}  // namespace

const char* backend_name() { return "the C++ API (colossus::Communicator)"; }

const char* backend_no_device_buffers() { return nullptr; }

CommList make_local_comms(int n, const Options& options) {
  CommList out;
  for (Communicator& c : loopback_group(n, options)) out.push_back(wrap(std::move(c)));
  return out;
}

std::unique_ptr<PerfComm> make_launched_comm(const Options& options) {
  return wrap(init_from_env(options));
}

UniqueId make_backend_unique_id() { return make_unique_id(); }

std::unique_ptr<PerfComm> make_comm(const UniqueId& id, int rank, int nranks,
                                    const Options& options) {
  return wrap(init(id, rank, nranks, options));
}

}  // namespace colossus::perf
