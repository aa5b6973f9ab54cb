// colossus._core: the module, its enums, and colossus.Error.
#include <string>

#include "bind.hpp"

namespace colossus::py_core {

namespace {

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Success: return "Success";
    case ErrorCode::CudaError: return "CudaError";
    case ErrorCode::SystemError: return "SystemError";
    case ErrorCode::InternalError: return "InternalError";
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::InvalidUsage: return "InvalidUsage";
    case ErrorCode::RemoteError: return "RemoteError";
    case ErrorCode::Timeout: return "Timeout";
    case ErrorCode::Aborted: return "Aborted";
  }
  return "Unknown";
}

}  // namespace

ReduceOp op_arg(const py::object& op) {
  if (py::isinstance<ReduceOp>(op)) return op.cast<ReduceOp>();
  if (py::isinstance<py::str>(op)) {
    ReduceOp o;
    if (parse_op(op.cast<std::string>(), &o)) return o;
    throw py::value_error("unknown reduction op '" + op.cast<std::string>() +
                          "' (sum, prod, max, min, avg)");
  }
  throw py::type_error("op must be a colossus.ReduceOp or its name");
}

Options options_from(const py::kwargs& kwargs) {
  Options o;
  for (const auto& [k, v] : kwargs) {
    const std::string key = k.cast<std::string>();
    if (key == "nchannels") {
      o.nchannels = v.cast<int>();
    } else if (key == "chunk_bytes") {
      o.chunk_bytes = v.cast<std::size_t>();
    } else if (key == "timeout_s") {
      o.timeout_s = v.cast<double>();
    } else if (key == "slot_bytes") {
      o.slot_bytes = v.cast<std::size_t>();
    } else if (key == "transport") {
      o.transport = v.cast<std::string>();
    } else if (key == "algorithm") {
      o.algorithm = v.cast<std::string>();
    } else if (key == "topology") {
      o.topology = v.cast<std::string>();
    } else if (key == "cuda_device") {
      o.cuda_device = v.cast<int>();
    } else if (key == "blocking") {
      o.blocking = v.cast<bool>();
    } else {
      throw py::type_error("unknown option '" + key +
                           "' (nchannels, chunk_bytes, timeout_s, slot_bytes, transport, "
                           "algorithm, topology, cuda_device, blocking)");
    }
  }
  return o;
}

void bind_types(py::module_& m) {
  py::enum_<DataType>(m, "DataType")
      .value("int8", DataType::Int8)
      .value("uint8", DataType::Uint8)
      .value("int32", DataType::Int32)
      .value("uint32", DataType::Uint32)
      .value("int64", DataType::Int64)
      .value("uint64", DataType::Uint64)
      .value("float16", DataType::Float16)
      .value("float32", DataType::Float32)
      .value("float64", DataType::Float64)
      .value("bfloat16", DataType::Bfloat16)
      .value("float8_e4m3", DataType::Float8e4m3)
      .value("float8_e5m2", DataType::Float8e5m2)
      .def_property_readonly("itemsize", [](DataType t) { return dtype_size(t); });
  py::enum_<ReduceOp>(m, "ReduceOp")
      .value("sum", ReduceOp::Sum)
      .value("prod", ReduceOp::Prod)
      .value("max", ReduceOp::Max)
      .value("min", ReduceOp::Min)
      .value("avg", ReduceOp::Avg);
  py::enum_<CommState>(m, "CommState")
      .value("ready", CommState::Ready)
      .value("in_progress", CommState::InProgress)
      .value("failed", CommState::Failed);

  // One class for every library error, as the C++ API has one; `code` says
  // which (the ErrorCode's name: "Aborted", "InvalidArgument", ...).
  static py::handle error_type = py::exception<Error>(m, "Error", PyExc_RuntimeError).release();
  // Users catch it as colossus.Error; say so in tracebacks.
  error_type.attr("__module__") = "colossus";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object exc = py::reinterpret_borrow<py::object>(error_type)(e.what());
      exc.attr("code") = code_name(e.code());
      exc.attr("code_value") = static_cast<int>(e.code());
      PyErr_SetObject(error_type.ptr(), exc.ptr());
    }
  });
}

}  // namespace colossus::py_core

PYBIND11_MODULE(_core, m) {
  namespace pc = colossus::py_core;
  m.doc() = "colossus's C++ API for NumPy arrays and buffers (import colossus, not this)";
  pc::bind_types(m);
  pc::bind_communicator(m);
  pc::bind_init(m);
}
