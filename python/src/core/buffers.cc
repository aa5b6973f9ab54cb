#include "buffers.hpp"

#include <Python.h>

#include <cstring>

namespace colossus::py_core {

std::string dtype_name(DataType t) { return std::string(to_string(t)); }

std::optional<DataType> dtype_of_format(const std::string& format, py::ssize_t itemsize) {
  std::size_t i = 0;
  bool big_endian = false;
  if (i < format.size() && std::strchr("@=<>!", format[i]) != nullptr) {
    big_endian = format[i] == '>' || format[i] == '!';
    ++i;
  }
  // "f", "<f" and the like: one item per element. Anything longer ("2f",
  // "T{...}") is a record, which no collective reduces.
  if (format.size() != i + 1) return std::nullopt;
  // Elements travel as host-order bytes; a byte-swapped array would reduce
  // garbage without a word of warning.
  if (big_endian && itemsize > 1) return std::nullopt;
  const char c = format[i];
  switch (c) {
    case 'e': return itemsize == 2 ? std::optional(DataType::Float16) : std::nullopt;
    case 'f': return itemsize == 4 ? std::optional(DataType::Float32) : std::nullopt;
    case 'd': return itemsize == 8 ? std::optional(DataType::Float64) : std::nullopt;
    default: break;
  }
  const bool is_signed = std::strchr("bhilqn", c) != nullptr;
  const bool is_unsigned = std::strchr("BHILQN", c) != nullptr;
  if (!is_signed && !is_unsigned) return std::nullopt;
  // 'l' is 4 or 8 bytes depending on the platform: go by the size.
  switch (itemsize) {
    case 1: return is_signed ? DataType::Int8 : DataType::Uint8;
    case 4: return is_signed ? DataType::Int32 : DataType::Uint32;
    case 8: return is_signed ? DataType::Int64 : DataType::Uint64;
    default: return std::nullopt;  // 16-bit integers: no colossus type
  }
}

std::optional<DataType> dtype_arg(const py::object& dtype) {
  if (dtype.is_none()) return std::nullopt;
  if (py::isinstance<DataType>(dtype)) return dtype.cast<DataType>();
  if (py::isinstance<py::str>(dtype)) {
    const std::string name = dtype.cast<std::string>();
    DataType t;
    if (parse_dtype(name, &t)) return t;
    // This module's own spellings (DataType.float8_e4m3.name).
    const py::dict members = py::type::of(py::cast(DataType::Float32)).attr("__members__");
    if (members.contains(name)) return members[name.c_str()].cast<DataType>();
    throw py::type_error("unknown dtype '" + name + "'");
  }
  // NumPy dtypes and scalar types (numpy.float32) by their NumPy name.
  std::string name;
  try {
    name = py::module_::import("numpy").attr("dtype")(dtype).attr("name").cast<std::string>();
  } catch (py::error_already_set&) {
    throw py::type_error("dtype must be a colossus.DataType, its name or a NumPy dtype, not " +
                         std::string(py::str(py::type::of(dtype).attr("__name__"))));
  }
  DataType t;
  if (parse_dtype(name, &t)) return t;
  throw py::type_error("NumPy dtype " + name + " has no colossus DataType");
}

namespace {

bool c_contiguous(const py::buffer_info& info) {
  py::ssize_t expect = info.itemsize;
  for (py::ssize_t d = info.ndim - 1; d >= 0; --d) {
    // A dimension of one element has no meaningful stride (NumPy may report any).
    if (info.shape[d] > 1 && info.strides[d] != expect) return false;
    if (info.shape[d] == 0) return true;  // no elements: nothing to lay out
    expect *= info.shape[d];
  }
  return true;
}

}  // namespace

Buf view(const py::handle& obj, std::optional<DataType> dtype, bool writable,
         const std::string& what) {
  if (obj.is_none() || PyObject_CheckBuffer(obj.ptr()) == 0) {
    throw py::type_error(what +
                         " must support the buffer protocol (a NumPy array, bytearray, "
                         "memoryview, ...), not " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  Buf b;
  b.obj = py::reinterpret_borrow<py::object>(obj);
  try {
    b.info = py::reinterpret_borrow<py::buffer>(obj).request(false);
  } catch (py::error_already_set& e) {
    // Exporters that need suboffsets (PIL-style) refuse a strided request.
    throw py::value_error(what + ": the buffer cannot be exported as a strided array (" +
                          std::string(e.what()) + ")");
  }
  const py::buffer_info& info = b.info;
  const std::optional<DataType> native = dtype_of_format(info.format, info.itemsize);
  if (dtype) {
    if (static_cast<std::size_t>(info.itemsize) != dtype_size(*dtype)) {
      throw py::type_error(what + ": dtype " + dtype_name(*dtype) + " has " +
                           std::to_string(dtype_size(*dtype)) +
                           "-byte elements, the buffer's items have " +
                           std::to_string(info.itemsize) + " bytes (format '" + info.format + "')");
    }
    // Another type of the same size (int32 as float32) would reduce
    // reinterpreted bits. Only the types that buffers cannot describe ride
    // in integer buffers: bfloat16 in uint16 (no format: native is empty),
    // fp8 in (u)int8.
    const bool fp8 = *dtype == DataType::Float8e4m3 || *dtype == DataType::Float8e5m2;
    const bool bits = fp8 && (native == DataType::Uint8 || native == DataType::Int8);
    if (native && *native != *dtype && !bits) {
      throw py::type_error(what + " has dtype " + dtype_name(*native) + ", the call's dtype is " +
                           dtype_name(*dtype));
    }
    b.dtype = *dtype;
  } else if (native) {
    b.dtype = *native;
  } else {
    throw py::type_error(what + ": unsupported element format '" + info.format + "' (" +
                         std::to_string(info.itemsize) +
                         " bytes); colossus takes float16/32/64, int8/32/64 and uint8/32/64, "
                         "and bfloat16/fp8 with an explicit dtype= over uint16/uint8 buffers");
  }
  if (!c_contiguous(info)) {
    throw py::value_error(what +
                          " must be C-contiguous (use numpy.ascontiguousarray, or "
                          "pass a copy)");
  }
  if (writable && info.readonly) throw py::value_error(what + " is read-only; it is written");
  b.ptr = info.ptr;
  b.count = static_cast<std::size_t>(info.size);
  b.shape = info.shape;
  return b;
}

py::array new_array(DataType dtype, const std::vector<py::ssize_t>& shape) {
  const char* name = "float32";
  switch (dtype) {
    case DataType::Int8: name = "int8"; break;
    case DataType::Uint8:
    case DataType::Float8e4m3:
    case DataType::Float8e5m2: name = "uint8"; break;
    case DataType::Int32: name = "int32"; break;
    case DataType::Uint32: name = "uint32"; break;
    case DataType::Int64: name = "int64"; break;
    case DataType::Uint64: name = "uint64"; break;
    case DataType::Float16: name = "float16"; break;
    case DataType::Bfloat16: name = "uint16"; break;
    case DataType::Float32: name = "float32"; break;
    case DataType::Float64: name = "float64"; break;
  }
  return py::array(py::dtype(name), shape);
}

void expect_count(const Buf& b, std::size_t count, const std::string& what,
                  const std::string& rule) {
  if (b.count == count) return;
  throw py::value_error(what + " holds " + std::to_string(b.count) + " elements; it must hold " +
                        rule + " = " + std::to_string(count));
}

void expect_dtype(const Buf& b, DataType want, const std::string& what) {
  if (b.dtype == want) return;
  throw py::type_error(what + " has dtype " + dtype_name(b.dtype) + ", the call's dtype is " +
                       dtype_name(want));
}

}  // namespace colossus::py_core
