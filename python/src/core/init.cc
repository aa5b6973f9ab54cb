// Unique ids, the ways to make communicators, and groups.
#include <pybind11/stl.h>

#include <cstring>
#include <string>
#include <vector>

#include "bind.hpp"

namespace colossus::py_core {

namespace {

// Groups are per thread in the library (one thread may drive several
// loopback ranks in one group), so the depth and what the group's recorded
// calls point into are per thread too. Heap-allocated and never freed: a
// thread that exits mid-group must not drop Python references without the
// GIL at thread exit.
struct GroupState {
  int depth = 0;
  std::vector<py::object>* kept = new std::vector<py::object>;
};
thread_local GroupState group_state;

UniqueId id_from_bytes(const py::bytes& b) {
  const std::string s = b;
  UniqueId id;
  if (s.size() != sizeof id.internal) {
    throw py::value_error("a UniqueId is " + std::to_string(sizeof id.internal) + " bytes, not " +
                          std::to_string(s.size()));
  }
  std::memcpy(id.internal, s.data(), s.size());
  return id;
}

py::bytes id_bytes(const UniqueId& id) { return py::bytes(id.internal, sizeof id.internal); }

void group_end_and_release() {
  GroupState& g = group_state;
  if (g.depth == 0) {
    // The library says so (InvalidUsage); let it.
    group_end();
    return;
  }
  --g.depth;
  // group_end() runs every recorded call; the buffers must live until then,
  // error or not.
  try {
    py::gil_scoped_release nogil;
    group_end();
  } catch (...) {
    if (g.depth == 0) g.kept->clear();
    throw;
  }
  if (g.depth == 0) g.kept->clear();
}

}  // namespace

bool in_group() { return group_state.depth > 0; }
void keep_until_group_end(const py::object& obj) { group_state.kept->push_back(obj); }

void bind_init(py::module_& m) {
  using py::arg;
  py::class_<UniqueId>(m, "UniqueId",
                       "The 128 bytes that name a job's rendezvous (make_unique_id on rank 0; "
                       "hand them to every rank as bytes or text).")
      .def(py::init(&id_from_bytes), arg("data"))
      .def("__bytes__", &id_bytes)
      .def("to_string", [](const UniqueId& id) { return to_string(id); })
      .def("__str__", [](const UniqueId& id) { return to_string(id); })
      .def_static("parse", &parse_unique_id, arg("text"))
      .def("__eq__",
           [](const UniqueId& a, const UniqueId& b) {
             return std::memcmp(a.internal, b.internal, sizeof a.internal) == 0;
           })
      .def("__hash__", [](const UniqueId& id) { return py::hash(id_bytes(id)); })
      // multiprocessing hands ids to its workers by pickling.
      .def(py::pickle([](const UniqueId& id) { return py::make_tuple(id_bytes(id)); },
                      [](const py::tuple& t) { return id_from_bytes(t[0].cast<py::bytes>()); }));

  m.def("make_unique_id", &make_unique_id, "On rank 0: starts the rendezvous listener.");
  m.def("parse_unique_id", &parse_unique_id, arg("text"));
  m.def(
      "init",
      [](const py::object& id, int rank, int nranks, const py::kwargs& kw) {
        std::vector<UniqueId> ids;
        if (py::isinstance<UniqueId>(id)) {
          ids.push_back(id.cast<UniqueId>());
        } else if (py::isinstance<py::bytes>(id)) {
          ids.push_back(id_from_bytes(id.cast<py::bytes>()));
        } else if (py::isinstance<py::str>(id)) {
          ids.push_back(parse_unique_id(id.cast<std::string>()));
        } else {
          ids = id.cast<std::vector<UniqueId>>();
        }
        const Options o = options_from(kw);
        Communicator c;
        {
          py::gil_scoped_release nogil;
          c = init(ids, rank, nranks, o);
        }
        return wrap(std::move(c));
      },
      arg("id"), arg("rank"), arg("nranks"),
      "Collective over nranks processes: this rank's communicator. id: a UniqueId, its bytes "
      "or text, or a list of them. Keyword options as colossus::Options (nchannels, "
      "chunk_bytes, timeout_s, slot_bytes, transport, algorithm, topology, cuda_device, "
      "blocking).");
  m.def(
      "init_from_env",
      [](const py::kwargs& kw) {
        const Options o = options_from(kw);
        Communicator c;
        {
          py::gil_scoped_release nogil;
          c = init_from_env(o);
        }
        return wrap(std::move(c));
      },
      "Collective: rank, size and rendezvous from the launcher's environment.");
  m.def(
      "loopback_group",
      [](int n, const py::kwargs& kw) {
        if (n < 1)
          throw py::value_error("loopback_group: n must be >= 1, not " + std::to_string(n));
        const Options o = options_from(kw);
        std::vector<Communicator> comms;
        {
          py::gil_scoped_release nogil;
          comms = loopback_group(n, o);
        }
        py::list out;
        for (Communicator& c : comms) out.append(wrap(std::move(c)));
        return out;
      },
      arg("n"), "n ranks of one group in this process; run each on its own thread.");

  m.def("group_start", [] {
    group_start();
    ++group_state.depth;
  });
  m.def("group_end", &group_end_and_release);
  m.def(
      "group_simulate_end",
      [] {
        GroupState& g = group_state;
        const double us = group_simulate_end();
        // The outermost group is gone, with whatever nesting was open.
        g.depth = 0;
        g.kept->clear();
        return us;
      },
      "Ends the outermost group without running it: the tuner's predicted time, in us.");
  m.def("reload_log_settings", &reload_log_settings);
}

}  // namespace colossus::py_core
