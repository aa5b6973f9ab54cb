// bind.hpp: the parts of colossus._core, each bound by one file.
#pragma once

#include <pybind11/pybind11.h>

#include "colossus/colossus.hpp"

namespace colossus::py_core {

namespace py = pybind11;

// module.cc: enums, colossus.Error, Options from keyword arguments.
void bind_types(py::module_& m);
Options options_from(const py::kwargs& kwargs);
// `op` as the caller may spell it: a ReduceOp or its name ("sum").
ReduceOp op_arg(const py::object& op);

// communicator.cc: the Communicator class.
void bind_communicator(py::module_& m);
// Wraps a communicator the library made (None for an empty handle).
py::object wrap(Communicator comm);

// alltoallv.cc: Communicator.alltoallv.
class PyComm;
void def_alltoallv(py::class_<PyComm>& cls);

// init.cc: UniqueId, init, init_from_env, loopback_group, groups.
void bind_init(py::module_& m);
// Inside a group the library records raw pointers and reads them at
// group_end(): keep the Python objects behind them alive until then.
bool in_group();
void keep_until_group_end(const py::object& obj);

}  // namespace colossus::py_core
