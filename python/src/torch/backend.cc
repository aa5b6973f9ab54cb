// backend.cc: the backend's life (init through the c10d store, the worker and
// the watchdog, coalescing, abort and shutdown). The calls themselves are in
// collectives.cc, movement.cc and p2p.cc; CUDA tensors in device.cc.
#include "backend.hpp"

#include <cstring>

namespace colossus_torch {

namespace {

// The unique id of a communicator, made by rank 0 and read by the others
// through the process group's store (a PrefixStore of its own per group).
colossus::UniqueId exchange_id(c10d::Store& store, const std::string& key, int rank) {
  colossus::UniqueId id{};
  if (rank == 0) {
    id = colossus::make_unique_id();
    const auto* p = reinterpret_cast<const uint8_t*>(id.internal);
    store.set(key, std::vector<uint8_t>(p, p + sizeof(id.internal)));
  } else {
    const std::vector<uint8_t> bytes = store.get(key);
    TORCH_CHECK_WITH(DistBackendError, bytes.size() == sizeof(id.internal),
                     "colossus: the store's key ", key, " holds ", bytes.size(),
                     " bytes, not a unique id");
    std::memcpy(id.internal, bytes.data(), bytes.size());
  }
  return id;
}

colossus::Options options_for(std::chrono::milliseconds timeout, int cuda_device = -1) {
  colossus::Options o;
  o.timeout_s = static_cast<double>(timeout.count()) / 1000.0;
  o.cuda_device = cuda_device;
  return o;
}

}  // namespace

ColossusBackend::ColossusBackend(c10::intrusive_ptr<c10d::Store> store, int rank, int size,
                                 std::chrono::milliseconds timeout)
    : c10d::Backend(rank, size), store_(std::move(store)), timeout_(timeout) {
  TORCH_CHECK_VALUE(timeout.count() > 0, "colossus: the process group's timeout must be positive");
  try {
    comm_ = make_comm("colossus_uid", -1);
  } catch (const colossus::Error& e) {
    TORCH_CHECK_WITH(DistBackendError, false, "colossus: init of rank ", rank, " of ", size,
                     " failed: ", e.what());
  }
  worker_ = std::thread([this] { worker_loop(); });
  watchdog_ = std::thread([this] { watchdog_loop(); });
}

ColossusBackend::~ColossusBackend() { shutdown(); }

colossus::Communicator ColossusBackend::make_comm(const std::string& key, int cuda_device) {
  return colossus::init(exchange_id(*store_, key, getRank()), getRank(), getSize(),
                        options_for(timeout_, cuda_device));
}

std::chrono::milliseconds ColossusBackend::deadline_of(std::chrono::milliseconds op_timeout) const {
  return op_timeout.count() > 0 ? op_timeout : timeout_;
}

c10::intrusive_ptr<ColossusWork> ColossusBackend::make_work(c10d::OpType type,
                                                            std::vector<at::Tensor> outputs) {
  // The Work may outlive the backend (a Python reference): it reaches back
  // only through a weak pointer.
  c10::weak_intrusive_ptr<ColossusBackend> self(
      c10::intrusive_ptr<ColossusBackend>::unsafe_reclaim_from_nonowning(this));
  return c10::make_intrusive<ColossusWork>(getRank(), type, std::move(outputs),
                                           [self](const std::string& why) {
                                             if (auto b = self.lock()) b->abort_because(why);
                                           });
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::submit(c10d::OpType type, const char* name,
                                                       std::vector<at::Tensor> outputs,
                                                       std::vector<Step> steps, When when) {
  auto work = make_work(type, std::move(outputs));
  Job job{std::move(steps), {work}, deadline_of(when.timeout), name};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    TORCH_CHECK_WITH(DistBackendError, !stopping_, "colossus: ", name,
                     " on a process group that was shut down or aborted");
    ++seq_;
    if (coalescing_) {
      for (auto& s : job.steps) coalescing_->steps.push_back(std::move(s));
      coalescing_->works.push_back(work);
      coalescing_->timeout = std::max(coalescing_->timeout, job.timeout);
      coalescing_->name += std::string(coalescing_->name.empty() ? "" : ", ") + name;
      return work;
    }
    if (when.async || busy_ || !queue_.empty()) {
      queue_.push_back(std::move(job));
      cv_.notify_all();
      return work;
    }
    busy_ = true;  // idle, and the caller waits anyway: run it here
  }
  run_tracked(job);
  return work;
}

void ColossusBackend::startCoalescing() {
  std::lock_guard<std::mutex> lock(mutex_);
  TORCH_CHECK_VALUE(!coalescing_, "colossus: startCoalescing while already coalescing");
  coalescing_ = Job{{}, {}, std::chrono::milliseconds(0), ""};
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::endCoalescing() {
  std::lock_guard<std::mutex> lock(mutex_);
  TORCH_CHECK_VALUE(coalescing_.has_value(), "colossus: endCoalescing without startCoalescing");
  Job job = std::move(*coalescing_);
  coalescing_.reset();
  std::vector<at::Tensor> outputs;
  for (auto& w : job.works)
    for (auto& t : w->result()) outputs.push_back(t);
  auto all = make_work(c10d::OpType::COALESCED, outputs);
  if (job.steps.empty()) {
    all->complete();
    for (auto& w : job.works) w->complete();
    return all;
  }
  job.works.push_back(all);
  job.name = "coalesced group (" + job.name + ")";
  queue_.push_back(std::move(job));
  cv_.notify_all();
  return all;
}

std::exception_ptr ColossusBackend::run_job(Job& job) {
  try {
    if (job.steps.size() == 1) {
      job.steps[0].issue(comm_);
    } else {
      colossus::group_start();
      for (auto& s : job.steps) s.issue(comm_);
      colossus::group_end();
    }
    for (auto& s : job.steps)
      if (s.finish) s.finish();
    return nullptr;
  } catch (const std::exception& e) {
    std::string why;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      why = abort_reason_;
    }
    return backend_error(why.empty() ? "colossus: " + job.name + " failed on rank " +
                                           std::to_string(getRank()) + ": " + e.what()
                                     : why + " (" + e.what() + ")");
  }
}

void ColossusBackend::run_tracked(Job& job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_deadline_ = std::chrono::steady_clock::now() + job.timeout;
    running_name_ = job.name;
    ++running_number_;
    if (watchdog_idle_) watchdog_cv_.notify_all();
  }
  const std::exception_ptr error = run_job(job);
  {
    // The library is done with the call before its Works complete: a caller
    // that returns from wait() and shuts the group down finds it idle, and
    // does not abort a call its peers may still be finishing.
    std::lock_guard<std::mutex> lock(mutex_);
    running_deadline_.reset();
    busy_ = false;
    if (!queue_.empty()) cv_.notify_all();  // the worker waits for busy_ to clear
  }
  for (auto& w : job.works) {
    if (error)
      w->fail(error);
    else
      w->complete();
  }
}

void ColossusBackend::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || (!queue_.empty() && !busy_); });
      if (stopping_) break;
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    run_tracked(job);
  }
  // Shut down: what never ran fails, so that no wait() blocks for it.
  std::deque<Job> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left.swap(queue_);
  }
  const auto error =
      backend_error("colossus: the process group was shut down or aborted before this call ran");
  for (auto& job : left)
    for (auto& w : job.works) w->fail(error);
}

// Sleeps until the deadline of the job it last saw; calls started since then
// have later deadlines, so at wake-up it either aborts the late job or sleeps
// on for the current one. Woken early only when it had nothing to wait for.
void ColossusBackend::watchdog_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (!running_deadline_) {
      watchdog_idle_ = true;
      watchdog_cv_.wait(lock);
      watchdog_idle_ = false;
      continue;
    }
    const auto deadline = *running_deadline_;
    const uint64_t number = running_number_;
    watchdog_cv_.wait_until(lock, deadline, [&] { return stopping_; });
    if (stopping_ || !running_deadline_) continue;
    if (running_number_ != number || std::chrono::steady_clock::now() < *running_deadline_)
      continue;
    const std::string name = running_name_;
    lock.unlock();
    abort_because("colossus: " + name + " did not complete within its timeout on rank " +
                  std::to_string(getRank()) + "; the process group is aborted");
    lock.lock();
    running_deadline_.reset();
  }
}

void ColossusBackend::abort_because(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abort_reason_.empty()) abort_reason_ = why;
  }
  comm_.abort();
  if (device_comm_) device_comm_->abort();
}

void ColossusBackend::abort() { abort_because("colossus: the process group was aborted"); }

void ColossusBackend::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  watchdog_cv_.notify_all();
  // A call still in the library is one nobody waited for: abort it, so that
  // join() returns (its peers get an error naming this rank).
  bool busy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    busy = busy_;
  }
  if (busy) abort_because("colossus: the process group was shut down during a call");
  {
    // The worker may be running a Work's Python callback, which takes the
    // GIL: a caller holding it (a destructor run by Python) lets it go.
    std::optional<pybind11::gil_scoped_release> no_gil;
    if (Py_IsInitialized() && PyGILState_Check()) no_gil.emplace();
    if (worker_.joinable()) worker_.join();
    if (watchdog_.joinable()) watchdog_.join();
  }
  comm_.destroy();
  if (device_comm_) device_comm_->destroy();
}

}  // namespace colossus_torch
