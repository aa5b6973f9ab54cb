// pycomm.hpp: the object behind a Python Communicator.
//
// Python threads may share one Communicator object: a rank's thread blocked
// in a collective, another that aborts it or drops the last reference. The
// C++ handle is used by one thread at a time except for abort(), so the
// wrapper orders the rest: calls hold `calls_` shared (they run with the GIL
// released), destroy() holds it exclusively and so waits for them to end,
// and every touch of the handle itself (reset, abort, rank) holds `handle_`
// briefly.
#pragma once

#include <pybind11/pybind11.h>

#include <mutex>
#include <shared_mutex>
#include <utility>

#include "colossus/colossus.hpp"

namespace colossus::py_core {

namespace py = pybind11;

class PyComm {
 public:
  explicit PyComm(Communicator comm) : comm_(std::move(comm)) {}
  PyComm(const PyComm&) = delete;
  PyComm& operator=(const PyComm&) = delete;
  ~PyComm() {
    // Freeing a rank may wait on the library's threads; those never need
    // the GIL, but the Python threads of the other ranks do.
    if (Py_IsInitialized() && PyGILState_Check()) {
      py::gil_scoped_release nogil;
      comm_.destroy();
    } else {
      comm_.destroy();
    }
  }

  // A call that may block: without the GIL, never while destroy() runs.
  template <class F>
  decltype(auto) blocking(F&& f) {
    py::gil_scoped_release nogil;
    std::shared_lock lock(calls_);
    return f(comm_);
  }
  // A call that returns at once (rank, size, state), with the GIL held.
  template <class F>
  decltype(auto) quick(F&& f) {
    std::lock_guard lock(handle_);
    return f(comm_);
  }
  void abort() {
    py::gil_scoped_release nogil;
    std::lock_guard lock(handle_);
    comm_.abort();
  }
  void destroy() {
    py::gil_scoped_release nogil;
    std::unique_lock wait_calls(calls_);
    std::lock_guard lock(handle_);
    comm_.destroy();
  }

 private:
  Communicator comm_;
  std::shared_mutex calls_;
  std::mutex handle_;
};

}  // namespace colossus::py_core
