// The Communicator class: every collective takes buffer-protocol objects,
// derives the count from them, and returns its output (out=, or a new NumPy
// array when out= is not given).
#include <memory>
#include <string>
#include <vector>

#include "bind.hpp"
#include "buffers.hpp"
#include "pycomm.hpp"

namespace colossus::py_core {

namespace {

using Shape = std::vector<py::ssize_t>;

std::string at(const char* call, const char* arg) { return std::string(call) + ": " + arg; }

// The input of a call, kept alive through a group, which reads it later.
Buf input(const py::handle& obj, const py::object& dtype, const char* call, const char* arg) {
  Buf b = view(obj, dtype_arg(dtype), false, at(call, arg));
  if (in_group()) keep_until_group_end(b.obj);
  return b;
}

// The output of a call: `out` checked against what the call writes, or a new
// array of `shape`.
Buf output(const py::object& out, DataType dtype, std::size_t count, const Shape& shape,
           const char* call, const std::string& rule) {
  Buf b;
  if (out.is_none()) {
    b = view(new_array(dtype, shape), dtype, true, at(call, "out"));
  } else {
    b = view(out, dtype, true, at(call, "out"));
    expect_count(b, count, at(call, "out"), rule);
  }
  if (in_group()) keep_until_group_end(b.obj);
  return b;
}

// Shape of size*n elements gathered from blocks shaped like `block`: the
// blocks stacked along the first axis, as torch's all_gather_into_tensor.
Shape stacked(const Buf& block, int size) {
  if (block.shape.empty()) return {size};
  Shape s = block.shape;
  s[0] *= size;
  return s;
}

// Shape of one rank's block of `whole`: the first axis split when it
// divides, else flat. ValueError when the elements do not divide.
Shape block_of(const Buf& whole, int size, const char* call, const char* arg) {
  if (whole.count % static_cast<std::size_t>(size) != 0) {
    throw py::value_error(at(call, arg) + " holds " + std::to_string(whole.count) +
                          " elements, not a multiple of size() = " + std::to_string(size));
  }
  if (!whole.shape.empty() && whole.shape[0] % size == 0) {
    Shape s = whole.shape;
    s[0] /= size;
    return s;
  }
  return {static_cast<py::ssize_t>(whole.count / static_cast<std::size_t>(size))};
}

void check_rank(int r, int size, const char* call, const char* what) {
  if (r < 0 || r >= size) {
    throw py::value_error(std::string(call) + ": " + what + " " + std::to_string(r) +
                          " out of range [0, " + std::to_string(size) + ")");
  }
}

// Without the GIL: on a non-blocking communicator still being built they
// wait for the build.
int size_of(PyComm& c) {
  return c.blocking([](Communicator& k) { return k.size(); });
}
int rank_of(PyComm& c) {
  return c.blocking([](Communicator& k) { return k.rank(); });
}
std::string n_times(int size, std::size_t n) {
  return "size() * " + std::to_string(n) + " = " + std::to_string(size) + " * " + std::to_string(n);
}

py::object allreduce(PyComm& c, const py::object& send, const py::object& out, const py::object& op,
                     const py::object& dtype) {
  const Buf s = input(send, dtype, "allreduce", "send");
  const ReduceOp o = op_arg(op);
  const Buf r = output(out, s.dtype, s.count, s.shape, "allreduce", "send's count");
  c.blocking([&](Communicator& k) { k.allreduce(s.ptr, r.ptr, s.count, s.dtype, o); });
  return r.obj;
}

py::object allgather(PyComm& c, const py::object& send, const py::object& out,
                     const py::object& dtype) {
  const int n = size_of(c);
  const Buf s = input(send, dtype, "allgather", "send");
  const Buf r = output(out, s.dtype, s.count * n, stacked(s, n), "allgather", n_times(n, s.count));
  c.blocking([&](Communicator& k) { k.allgather(s.ptr, r.ptr, s.count, s.dtype); });
  return r.obj;
}

py::object reduce_scatter(PyComm& c, const py::object& send, const py::object& out,
                          const py::object& op, const py::object& dtype) {
  const int n = size_of(c);
  const Buf s = input(send, dtype, "reduce_scatter", "send");
  const ReduceOp o = op_arg(op);
  const Shape shape = block_of(s, n, "reduce_scatter", "send");
  const std::size_t count = s.count / n;
  const Buf r = output(out, s.dtype, count, shape, "reduce_scatter", "send's count / size()");
  c.blocking([&](Communicator& k) { k.reduce_scatter(s.ptr, r.ptr, count, s.dtype, o); });
  return r.obj;
}

py::object broadcast(PyComm& c, py::object send, const py::object& out, int root,
                     const py::object& dtype) {
  check_rank(root, size_of(c), "broadcast", "root");
  // broadcast(None, out=x): in place, x is the root's source.
  if (send.is_none()) send = out;
  const Buf s = input(send, dtype, "broadcast", "send");
  const Buf r = output(out, s.dtype, s.count, s.shape, "broadcast", "send's count");
  c.blocking([&](Communicator& k) { k.broadcast(s.ptr, r.ptr, s.count, s.dtype, root); });
  return r.obj;
}

// Rooted calls whose output only the root has: other ranks get None unless
// they pass out= (which is then checked, not written).
py::object reduce(PyComm& c, const py::object& send, const py::object& out, const py::object& op,
                  int root, const py::object& dtype) {
  check_rank(root, size_of(c), "reduce", "root");
  const Buf s = input(send, dtype, "reduce", "send");
  const ReduceOp o = op_arg(op);
  const bool mine = rank_of(c) == root;
  Buf r;
  if (mine || !out.is_none()) r = output(out, s.dtype, s.count, s.shape, "reduce", "send's count");
  c.blocking([&](Communicator& k) { k.reduce(s.ptr, r.ptr, s.count, s.dtype, o, root); });
  return mine || !out.is_none() ? r.obj : py::none();
}

py::object gather(PyComm& c, const py::object& send, const py::object& out, int root,
                  const py::object& dtype) {
  const int n = size_of(c);
  check_rank(root, n, "gather", "root");
  const Buf s = input(send, dtype, "gather", "send");
  const bool mine = rank_of(c) == root;
  Buf r;
  if (mine || !out.is_none())
    r = output(out, s.dtype, s.count * n, stacked(s, n), "gather", n_times(n, s.count));
  c.blocking([&](Communicator& k) { k.gather(s.ptr, r.ptr, s.count, s.dtype, root); });
  return mine || !out.is_none() ? r.obj : py::none();
}

// The root's send holds size() blocks; the others' is not read, so they
// may pass None with out= (which then gives the count).
py::object scatter(PyComm& c, const py::object& send, const py::object& out, int root,
                   const py::object& dtype) {
  const int n = size_of(c);
  check_rank(root, n, "scatter", "root");
  const bool mine = rank_of(c) == root;
  if (send.is_none() && (mine || out.is_none())) {
    throw py::value_error(mine ? "scatter: the root needs send"
                               : "scatter: pass out= (or send, for its size) on a non-root rank");
  }
  Buf s, r;
  if (!send.is_none()) {
    s = input(send, dtype, "scatter", "send");
    const Shape shape = block_of(s, n, "scatter", "send");
    r = output(out, s.dtype, s.count / n, shape, "scatter", "send's count / size()");
  } else {
    r = view(out, dtype_arg(dtype), true, "scatter: out");
    if (in_group()) keep_until_group_end(r.obj);
    s.dtype = r.dtype;
  }
  c.blocking([&](Communicator& k) { k.scatter(s.ptr, r.ptr, r.count, r.dtype, root); });
  return r.obj;
}

py::object alltoall(PyComm& c, const py::object& send, const py::object& out,
                    const py::object& dtype) {
  const int n = size_of(c);
  const Buf s = input(send, dtype, "alltoall", "send");
  block_of(s, n, "alltoall", "send");  // only for its check
  const Buf r = output(out, s.dtype, s.count, s.shape, "alltoall", "send's count");
  const std::size_t block = s.count / n;
  c.blocking([&](Communicator& k) { k.alltoall(s.ptr, r.ptr, block, s.dtype); });
  return r.obj;
}

void send(PyComm& c, const py::object& buf, int peer, const py::object& dtype) {
  check_rank(peer, size_of(c), "send", "peer");
  const Buf b = input(buf, dtype, "send", "buf");
  c.blocking([&](Communicator& k) { k.send(b.ptr, b.count, b.dtype, peer); });
}

py::object recv(PyComm& c, const py::object& buf, int peer, const py::object& dtype) {
  check_rank(peer, size_of(c), "recv", "peer");
  const Buf b = view(buf, dtype_arg(dtype), true, "recv: buf");
  if (in_group()) keep_until_group_end(b.obj);
  c.blocking([&](Communicator& k) { k.recv(b.ptr, b.count, b.dtype, peer); });
  return b.obj;
}

}  // namespace

py::object wrap(Communicator comm) {
  if (!comm.valid()) return py::none();
  return py::cast(std::make_unique<PyComm>(std::move(comm)));
}

void bind_communicator(py::module_& m) {
  using py::arg;
  const py::object none = py::none();
  const py::object sum = py::cast(ReduceOp::Sum);
  py::class_<PyComm> cls(m, "Communicator",
                         "One rank's handle on a group (see colossus.hpp). Collectives take "
                         "C-contiguous buffer-protocol objects; the count comes from the buffers. "
                         "Without out= they return a new NumPy array; pass out=x (also x itself, "
                         "where colossus.hpp allows in place) to write into x.");
  def_alltoallv(cls);
  cls.def_property_readonly("rank", &rank_of)
      .def_property_readonly("size", &size_of)
      .def_property_readonly("valid",
                             [](PyComm& c) { return c.quick([](auto& k) { return k.valid(); }); })
      .def_property_readonly("state",
                             [](PyComm& c) { return c.quick([](auto& k) { return k.state(); }); })
      .def("allreduce", &allreduce, arg("send"), arg("out") = none, arg("op") = sum,
           arg("dtype") = none)
      .def("allgather", &allgather, arg("send"), arg("out") = none, arg("dtype") = none)
      .def("reduce_scatter", &reduce_scatter, arg("send"), arg("out") = none, arg("op") = sum,
           arg("dtype") = none)
      .def("broadcast", &broadcast, arg("send"), arg("out") = none, arg("root") = 0,
           arg("dtype") = none)
      .def("reduce", &reduce, arg("send"), arg("out") = none, arg("op") = sum, arg("root") = 0,
           arg("dtype") = none)
      .def("gather", &gather, arg("send"), arg("out") = none, arg("root") = 0, arg("dtype") = none)
      .def("scatter", &scatter, arg("send") = none, arg("out") = none, arg("root") = 0,
           arg("dtype") = none)
      .def("alltoall", &alltoall, arg("send"), arg("out") = none, arg("dtype") = none)
      .def("send", &send, arg("buf"), arg("peer"), arg("dtype") = none)
      .def("recv", &recv, arg("buf"), arg("peer"), arg("dtype") = none)
      .def(
          "split",
          [](PyComm& c, int color, const py::object& key) {
            const int k = key.is_none() ? rank_of(c) : key.cast<int>();
            Communicator sub = c.blocking([&](Communicator& p) { return p.split(color, k); });
            return wrap(std::move(sub));
          },
          arg("color"), arg("key") = none,
          "Collective: the communicator of the ranks that passed the same color (ordered by "
          "key, default this rank), or None for color < 0.")
      .def(
          "shrink",
          [](PyComm& c, const std::vector<int>& exclude, bool abort_parent) {
            const ShrinkMode mode = abort_parent ? ShrinkMode::Abort : ShrinkMode::Default;
            return wrap(c.blocking([&](Communicator& p) { return p.shrink(exclude, mode); }));
          },
          arg("exclude"), arg("abort") = false)
      .def("abort", &PyComm::abort,
           "Any thread, any time: every pending and later call raises colossus.Error (Aborted).")
      .def("revoke", [](PyComm& c) { c.blocking([](Communicator& k) { k.revoke(); }); })
      .def("check_async_error",
           [](PyComm& c) { c.quick([](Communicator& k) { k.check_async_error(); }); })
      .def("destroy", &PyComm::destroy,
           "Frees the rank (after calls running on other threads end); later calls raise "
           "colossus.Error (InvalidUsage).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyComm& c, const py::args&) { c.destroy(); })
      .def("__repr__", [](PyComm& c) {
        return c.quick([](Communicator& k) {
          if (!k.valid()) return std::string("<colossus.Communicator destroyed>");
          if (k.state() == CommState::InProgress)
            return std::string("<colossus.Communicator in progress>");
          return "<colossus.Communicator rank " + std::to_string(k.rank()) + " of " +
                 std::to_string(k.size()) + ">";
        });
      });
}

}  // namespace colossus::py_core
