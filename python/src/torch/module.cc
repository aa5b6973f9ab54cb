// module.cc: colossus.torch._backend, the Python face of the backend: the
// ColossusBackend type (a torch.distributed Backend) and the creator
// function torch.distributed calls for init_process_group("colossus").
#include <pybind11/chrono.h>
#include <torch/csrc/utils/pybind.h>
#include <torch/extension.h>

#include "backend.hpp"

namespace py = pybind11;

namespace {

c10::intrusive_ptr<colossus_torch::ColossusBackend> create(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
    std::chrono::duration<float> timeout) {
  TORCH_CHECK_VALUE(size > 0 && rank >= 0 && rank < size, "colossus: rank ", rank, " of ", size,
                    " is not a valid place in a process group");
  return c10::make_intrusive<colossus_torch::ColossusBackend>(
      store, rank, size, std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

}  // namespace

PYBIND11_MODULE(_backend, m) {
  // c10d::Backend's Python type must exist before ours derives from it.
  py::module_::import("torch.distributed");
  m.doc() = "The torch.distributed backend 'colossus' (import colossus.torch to register it).";
  py::class_<colossus_torch::ColossusBackend, c10d::Backend,
             c10::intrusive_ptr<colossus_torch::ColossusBackend>>(m, "ColossusBackend");
  m.def("create_backend", &create, py::arg("store"), py::arg("rank"), py::arg("world_size"),
        py::arg("timeout"), py::call_guard<py::gil_scoped_release>(),
        "Makes this rank's backend: the unique id travels through `store`; every rank of the group "
        "calls it.");
}
