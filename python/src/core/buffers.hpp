// buffers.hpp: Python buffer-protocol objects as the (pointer, count, dtype)
// triples the C++ API takes, with the checks that turn a bad argument into a
// TypeError or ValueError before the library sees it.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "colossus/types.hpp"

namespace colossus::py_core {

namespace py = pybind11;

// A view of one argument. `info` pins the exporter's memory while the view
// lives; `obj` is what the caller passed (returned as the result when it was
// an out= argument).
struct Buf {
  py::object obj;
  py::buffer_info info;
  void* ptr = nullptr;
  std::size_t count = 0;  // elements of `dtype`
  DataType dtype = DataType::Float32;
  std::vector<py::ssize_t> shape;
};

// The element type a buffer format describes ("f" float32, "<e" float16,
// "q" int64, ...); nullopt when colossus has no such type.
std::optional<DataType> dtype_of_format(const std::string& format, py::ssize_t itemsize);

// `dtype` as the caller may spell it: None, a DataType, or a name ("bfloat16",
// "half", "float32").
std::optional<DataType> dtype_arg(const py::object& dtype);

// Views `obj` as a C-contiguous buffer of `dtype` (the buffer's own format
// when nullopt; an explicit dtype must have the buffer's item size: bfloat16
// over uint16, fp8 over uint8). `writable`: it is written (an output).
// `what` names the argument in messages ("allreduce: out"). Raises TypeError
// for a non-buffer or an unsupported format, ValueError for a non-contiguous
// or read-only one.
Buf view(const py::handle& obj, std::optional<DataType> dtype, bool writable,
         const std::string& what);

// A new C-contiguous NumPy array of `dtype` and `shape` (uninitialized).
// bfloat16 and fp8 come back as uint16 / uint8 arrays, as they went in.
py::array new_array(DataType dtype, const std::vector<py::ssize_t>& shape);

// ValueError unless `b` holds exactly `count` elements.
void expect_count(const Buf& b, std::size_t count, const std::string& what,
                  const std::string& rule);
// TypeError unless `b` has the dtype `want`.
void expect_dtype(const Buf& b, DataType want, const std::string& what);

std::string dtype_name(DataType t);

}  // namespace colossus::py_core
