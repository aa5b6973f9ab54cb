// XML export, and the file helpers. Import is in xml_parse.cc.
#include "topology/xml.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "colossus/error.hpp"

namespace colossus::topology {

namespace {

// Appends elements; attributes equal to their default are skipped, which
// keeps a 100k-GPU file about half as large and hand-written files short.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void open(const char* indent, const char* name) {
    out_ += indent;
    out_ += '<';
    out_ += name;
  }
  void end(bool children = false) { out_ += children ? ">\n" : "/>\n"; }
  void text(const char* key, const std::string& v) {
    out_ += ' ';
    out_ += key;
    out_ += "=\"";
    for (char c : v) {
      switch (c) {
        case '&': out_ += "&amp;"; break;
        case '<': out_ += "&lt;"; break;
        case '>': out_ += "&gt;"; break;
        case '"': out_ += "&quot;"; break;
        default: out_ += c;
      }
    }
    out_ += '"';
  }
  template <typename T>
  void num(const char* key, T v, T def) {
    if (v == def) return;
    char buf[64];
    // Shortest text that reads back to the same value: the round trip is exact.
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_ += ' ';
    out_ += key;
    out_ += "=\"";
    out_.append(buf, r.ptr);
    out_ += '"';
  }
  void flag(const char* key, bool v, bool def) {
    if (v != def) text(key, v ? "1" : "0");
  }
  void str(const char* key, const Topology& t, Id id) {
    if (id != kNone) text(key, t.str(id));
  }
  void pci(const char* key, PciAddr a) {
    if (a != 0) text(key, pci_to_string(a));
  }
  void ref(const char* key, Ref r) {
    text(key, std::string(to_string(r.kind)) + ":" + std::to_string(r.index));
  }

 private:
  std::string& out_;
};

}  // namespace

std::string to_xml(const Topology& t) {
  std::string out;
  out.reserve(256 + 160 * (t.gpus.size() + t.nics.size()) + 100 * t.links.size());
  Writer w(out);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  w.open("", "colossus_topology");
  w.text("version", "1");
  if (!t.source.empty()) w.text("source", t.source);
  w.end(true);
  for (const std::string& s : t.strings) w.open("  ", "string"), w.text("value", s), w.end();
  const Host h0{};
  const Numa n0{};
  const PciSwitch p0{};
  const Gpu g0{};
  const Nic c0{};
  for (std::size_t hi = 0; hi < t.hosts.size(); ++hi) {
    const Host& h = t.hosts[hi];
    w.open("  ", "host");
    w.text("name", h.hostname);
    if (!h.boot_id.empty()) w.text("boot_id", h.boot_id);
    w.str("cpu_model", t, h.cpu_model);
    w.num("cores", h.cores, h0.cores);
    w.num("pus", h.pus, h0.pus);
    w.num("memory", h.memory_bytes, h0.memory_bytes);
    w.num("mem_gbps", h.mem_gbps, h0.mem_gbps);
    w.end(true);
    for (Id i = h.first_numa; i < h.first_numa + h.num_numa; ++i) {
      const Numa& n = t.numas[i];
      w.open("    ", "numa");
      w.num("os_index", n.os_index, n0.os_index);
      w.num("cores", n.cores, n0.cores);
      w.num("memory", n.memory_bytes, n0.memory_bytes);
      w.end();
    }
    for (Id i = h.first_pci_switch; i < h.first_pci_switch + h.num_pci_switch; ++i) {
      const PciSwitch& p = t.pci_switches[i];
      w.open("    ", "pci_switch");
      w.num("parent", p.parent, p0.parent);
      w.num("numa", p.numa, p0.numa);
      w.num("root", p.root, p0.root);
      w.pci("pci", p.pci);
      w.num("gbps", p.gbps, p0.gbps);
      w.end();
    }
    for (Id i = h.first_gpu; i < h.first_gpu + h.num_gpu; ++i) {
      const Gpu& g = t.gpus[i];
      w.open("    ", "gpu");
      w.num("local", g.local, g0.local);
      w.str("model", t, g.model);
      w.num("numa", g.numa, g0.numa);
      w.num("pci_switch", g.pci_switch, g0.pci_switch);
      w.num("root", g.root, g0.root);
      w.pci("pci", g.pci);
      w.num("rail", g.rail, g0.rail);
      w.num("pcie_gbps", g.pcie_gbps, g0.pcie_gbps);
      w.num("nvdomain", g.nvdomain, g0.nvdomain);
      w.num("nvlinks", g.nvlinks, g0.nvlinks);
      w.num("nvlink_gbps", g.nvlink_gbps, g0.nvlink_gbps);
      w.end();
    }
    for (Id i = h.first_nic; i < h.first_nic + h.num_nic; ++i) {
      const Nic& c = t.nics[i];
      w.open("    ", "nic");
      w.str("name", t, c.name);
      w.str("netdev", t, c.netdev);
      w.num("numa", c.numa, c0.numa);
      w.num("pci_switch", c.pci_switch, c0.pci_switch);
      w.num("root", c.root, c0.root);
      w.pci("pci", c.pci);
      w.num("gbits", c.gbits, c0.gbits);
      w.num("burst_bytes", c.burst_bytes, c0.burst_bytes);
      w.num("peak_gbits", c.peak_gbits, c0.peak_gbits);
      if (c.layer != c0.layer) w.text("layer", to_string(c.layer));
      w.flag("rdma", c.rdma, c0.rdma);
      w.flag("up", c.up, c0.up);
      w.num("rail", c.rail, c0.rail);
      w.end();
    }
    out += "  </host>\n";
  }
  for (const NvSwitch& s : t.nvswitches) {
    w.open("  ", "nvswitch");
    w.num("host", s.host, kNone);
    w.num("nvdomain", s.nvdomain, kNone);
    w.end();
  }
  const NetSwitch s0{};
  for (const NetSwitch& s : t.switches) {
    w.open("  ", "switch");
    w.num("tier", s.tier, s0.tier);
    w.num("ports", s.ports, s0.ports);
    w.num("port_gbits", s.port_gbits, s0.port_gbits);
    w.num("latency_us", s.latency_us, s0.latency_us);
    w.num("rail", s.rail, s0.rail);
    w.num("group", s.group, s0.group);
    w.end();
  }
  const Link l0{};
  for (const Link& l : t.links) {
    w.open("  ", "link");
    w.ref("a", l.a);
    w.ref("b", l.b);
    w.text("type", to_string(l.type));
    w.num("count", l.count, l0.count);
    w.num("gbps", l.gbps, l0.gbps);
    w.num("latency_us", l.latency_us, l0.latency_us);
    w.end();
  }
  out += "</colossus_topology>\n";
  return out;
}

void save_xml(const Topology& topo, const std::string& path) {
  const std::string text = to_xml(topo);
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::SystemError, "topology: cannot write " + tmp);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(ErrorCode::SystemError, "topology: write to " + tmp + " failed");
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::SystemError, "topology: cannot rename " + tmp + " to " + path);
  }
}

Topology load_xml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::InvalidArgument, "topology: cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  Topology t = from_xml(ss.str(), path);
  t.source = "file " + path;
  return t;
}

}  // namespace colossus::topology
