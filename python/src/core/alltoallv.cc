// Communicator.alltoallv: per-peer counts and displacements, in elements.
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bind.hpp"
#include "buffers.hpp"
#include "pycomm.hpp"

namespace colossus::py_core {

namespace {

using Sizes = std::vector<std::size_t>;

// One entry per rank, or ValueError naming the argument.
Sizes per_rank(const py::object& v, int n, const char* name) {
  Sizes s;
  try {
    s = v.cast<Sizes>();
  } catch (const py::cast_error&) {
    throw py::type_error(std::string("alltoallv: ") + name +
                         " must be a sequence of non-negative integers");
  }
  if (s.size() != static_cast<std::size_t>(n)) {
    throw py::value_error(std::string("alltoallv: ") + name + " has " + std::to_string(s.size()) +
                          " entries, one per rank = " + std::to_string(n));
  }
  return s;
}

// Blocks packed in rank order: the displacements MPI users default to.
Sizes packed(const Sizes& counts) {
  Sizes d(counts.size());
  std::size_t at = 0;
  for (std::size_t q = 0; q < counts.size(); ++q) d[q] = at, at += counts[q];
  return d;
}

// Elements a buffer must hold for its blocks (the end of the last one).
std::size_t extent(const Sizes& counts, const Sizes& displs) {
  std::size_t end = 0;
  for (std::size_t q = 0; q < counts.size(); ++q) {
    if (counts[q] > 0) end = std::max(end, displs[q] + counts[q]);
  }
  return end;
}

py::object alltoallv(PyComm& c, const py::object& send, const py::object& send_counts,
                     const py::object& recv_counts, const py::object& out,
                     const py::object& sdispls, const py::object& rdispls,
                     const py::object& dtype) {
  const int n = c.blocking([](Communicator& k) { return k.size(); });
  const Sizes sc = per_rank(send_counts, n, "send_counts");
  const Sizes rc = per_rank(recv_counts, n, "recv_counts");
  const Sizes sd = sdispls.is_none() ? packed(sc) : per_rank(sdispls, n, "sdispls");
  const Sizes rd = rdispls.is_none() ? packed(rc) : per_rank(rdispls, n, "rdispls");
  const Buf s = view(send, dtype_arg(dtype), false, "alltoallv: send");
  if (s.count < extent(sc, sd)) {
    throw py::value_error("alltoallv: send holds " + std::to_string(s.count) +
                          " elements; its blocks need " + std::to_string(extent(sc, sd)));
  }
  Buf r;
  if (out.is_none()) {
    const auto len = static_cast<py::ssize_t>(extent(rc, rd));
    r = view(new_array(s.dtype, {len}), s.dtype, true, "alltoallv: out");
  } else {
    r = view(out, s.dtype, true, "alltoallv: out");
    expect_dtype(r, s.dtype, "alltoallv: out");
    if (r.count < extent(rc, rd)) {
      throw py::value_error("alltoallv: out holds " + std::to_string(r.count) +
                            " elements; its blocks need " + std::to_string(extent(rc, rd)));
    }
  }
  if (in_group()) {
    keep_until_group_end(s.obj);
    keep_until_group_end(r.obj);
  }
  c.blocking([&](Communicator& k) {
    k.alltoallv(s.ptr, sc.data(), sd.data(), r.ptr, rc.data(), rd.data(), s.dtype);
  });
  return r.obj;
}

}  // namespace

void def_alltoallv(py::class_<PyComm>& cls) {
  using py::arg;
  const py::object none = py::none();
  cls.def("alltoallv", &alltoallv, arg("send"), arg("send_counts"), arg("recv_counts"),
          arg("out") = none, arg("sdispls") = none, arg("rdispls") = none, arg("dtype") = none,
          "Block q of send (send_counts[q] elements at sdispls[q]) goes to rank q; rank q's "
          "block for this rank lands at rdispls[q]. Displacements default to the blocks "
          "packed in rank order; without out= a 1-D array of the received extent is returned.");
}

}  // namespace colossus::py_core
