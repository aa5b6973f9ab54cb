// XML import: elements onto the model (the parser itself is xml_reader.hpp).
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "colossus/error.hpp"
#include "topology/xml.hpp"
#include "topology/xml_reader.hpp"

namespace colossus::topology {

namespace {

using Parser = detail::XmlReader;
using detail::Element;

// Reads the attributes of one element into model fields; every attribute
// must be consumed, so a misspelt one is an error rather than a silent default.
class Attrs {
 public:
  Attrs(const Parser& p, const Element& e) : p_(p), e_(e), used_(e.attrs.size(), false) {}
  const std::string* find(const char* key) {
    for (std::size_t i = 0; i < e_.attrs.size(); ++i)
      if (e_.attrs[i].first == key) return used_[i] = true, &e_.attrs[i].second;
    return nullptr;
  }
  template <typename T>
  void num(const char* key, T& out) {
    const std::string* v = find(key);
    if (!v) return;
    const char* b = v->data();
    const char* end = b + v->size();
    auto r = std::from_chars(b, end, out);
    if (r.ec != std::errc() || r.ptr != end) bad(key, *v, "a number");
  }
  void flag(const char* key, bool& out) {
    const std::string* v = find(key);
    if (!v) return;
    if (*v == "1" || *v == "true")
      out = true;
    else if (*v == "0" || *v == "false")
      out = false;
    else
      bad(key, *v, "0 or 1");
  }
  void str(const char* key, Topology& t, Id& out) {
    if (const std::string* v = find(key)) out = t.intern(*v);
  }
  void pci(const char* key, PciAddr& out) {
    if (const std::string* v = find(key); v && !parse_pci(*v, &out))
      bad(key, *v, "a PCI address like 0000:18:00.0");
  }
  void ref(const char* key, Ref& out) {
    const std::string* v = find(key);
    if (!v) p_.fail(e_.line, e_.name, std::string("missing attribute ") + key);
    const std::size_t colon = v->find(':');
    bool ok = false;
    for (Kind k : {Kind::Host, Kind::Numa, Kind::Gpu, Kind::Nic, Kind::PciSwitch, Kind::NvSwitch,
                   Kind::NetSwitch})
      if (colon != std::string::npos && v->compare(0, colon, to_string(k)) == 0)
        out.kind = k, ok = true;
    const char* end = v->data() + v->size();
    if (!ok || std::from_chars(v->data() + colon + 1, end, out.index).ptr != end || out.index < 0)
      bad(key, *v, "kind:index, e.g. gpu:3");
  }
  template <typename E>
  void choice(const char* key, E& out, std::initializer_list<E> options) {
    const std::string* v = find(key);
    if (!v) return;
    for (E o : options)
      if (*v == to_string(o)) return void(out = o);
    std::string all;
    for (E o : options) all += std::string(all.empty() ? "" : ", ") + to_string(o);
    bad(key, *v, "one of " + all);
  }
  std::string required(const char* key) {
    const std::string* v = find(key);
    if (!v) p_.fail(e_.line, e_.name, std::string("missing attribute ") + key);
    return *v;
  }
  void done() {
    for (std::size_t i = 0; i < used_.size(); ++i)
      if (!used_[i])
        p_.fail(e_.line, e_.name, "unknown attribute '" + std::string(e_.attrs[i].first) + "'");
  }

 private:
  [[noreturn]] void bad(const char* key, const std::string& v, const std::string& want) {
    p_.fail(e_.line, e_.name, std::string(key) + "=\"" + v + "\": expected " + want);
  }
  const Parser& p_;
  const Element& e_;
  std::vector<bool> used_;
};

}  // namespace

Topology from_xml(const std::string& text, const std::string& file) {
  Parser p(text, file);
  Element e;
  Topology t;
  if (!p.next(e) || e.close || e.name != "colossus_topology")
    p.fail(e.line ? e.line : 1, e.name, "expected <colossus_topology> as the root element");
  {
    Attrs a(p, e);
    if (a.required("version") != "1")
      p.fail(e.line, e.name, "unsupported version (this build reads 1)");
    if (const std::string* s = a.find("source")) t.source = *s;
    a.done();
  }
  if (e.self_closing) p.fail(e.line, e.name, "empty topology");
  Id host = kNone;  // inside <host> while >= 0
  bool root_closed = false;
  while (p.next(e)) {
    if (root_closed) p.fail(e.line, e.name, "content after </colossus_topology>");
    if (e.close) {
      if (e.name == "host" && host != kNone)
        host = kNone;
      else if (e.name == "colossus_topology" && host == kNone)
        root_closed = true;
      else
        p.fail(e.line, e.name, "unexpected closing tag");
      continue;
    }
    const bool per_host =
        e.name == "numa" || e.name == "pci_switch" || e.name == "gpu" || e.name == "nic";
    if (per_host != (host != kNone))
      p.fail(e.line, e.name, per_host ? "must be inside <host>" : "not allowed inside <host>");
    if (!e.self_closing && e.name != "host")
      p.fail(e.line, e.name, "must be empty (<" + std::string(e.name) + " .../>)");
    Attrs a(p, e);
    if (e.name == "string") {
      t.strings.push_back(a.required("value"));
    } else if (e.name == "host") {
      Host h;
      h.hostname = a.required("name");
      if (const std::string* b = a.find("boot_id")) h.boot_id = *b;
      a.str("cpu_model", t, h.cpu_model);
      a.num("cores", h.cores);
      a.num("pus", h.pus);
      a.num("memory", h.memory_bytes);
      a.num("mem_gbps", h.mem_gbps);
      t.hosts.push_back(std::move(h));
      if (!e.self_closing) host = static_cast<Id>(t.hosts.size() - 1);
    } else if (e.name == "numa") {
      Numa n;
      n.host = host;
      a.num("os_index", n.os_index);
      a.num("cores", n.cores);
      a.num("memory", n.memory_bytes);
      t.numas.push_back(n);
    } else if (e.name == "pci_switch") {
      PciSwitch s;
      s.host = host;
      a.num("parent", s.parent);
      a.num("numa", s.numa);
      a.num("root", s.root);
      a.pci("pci", s.pci);
      a.num("gbps", s.gbps);
      t.pci_switches.push_back(s);
    } else if (e.name == "gpu") {
      Gpu g;
      g.host = host;
      a.num("local", g.local);
      a.str("model", t, g.model);
      a.num("numa", g.numa);
      a.num("pci_switch", g.pci_switch);
      a.num("root", g.root);
      a.pci("pci", g.pci);
      a.num("rail", g.rail);
      a.num("pcie_gbps", g.pcie_gbps);
      a.num("nvdomain", g.nvdomain);
      a.num("nvlinks", g.nvlinks);
      a.num("nvlink_gbps", g.nvlink_gbps);
      t.gpus.push_back(g);
    } else if (e.name == "nic") {
      Nic c;
      c.host = host;
      a.str("name", t, c.name);
      a.str("netdev", t, c.netdev);
      a.num("numa", c.numa);
      a.num("pci_switch", c.pci_switch);
      a.num("root", c.root);
      a.pci("pci", c.pci);
      a.num("gbits", c.gbits);
      a.num("burst_bytes", c.burst_bytes);
      a.num("peak_gbits", c.peak_gbits);
      a.choice("layer", c.layer, {LinkLayer::Unknown, LinkLayer::Ethernet, LinkLayer::InfiniBand});
      a.flag("rdma", c.rdma);
      a.flag("up", c.up);
      a.num("rail", c.rail);
      t.nics.push_back(c);
    } else if (e.name == "nvswitch") {
      NvSwitch s;
      a.num("host", s.host);
      a.num("nvdomain", s.nvdomain);
      t.nvswitches.push_back(s);
    } else if (e.name == "switch") {
      NetSwitch s;
      a.num("tier", s.tier);
      a.num("ports", s.ports);
      a.num("port_gbits", s.port_gbits);
      a.num("latency_us", s.latency_us);
      a.num("rail", s.rail);
      a.num("group", s.group);
      if (s.tier < 1 || s.tier > 8) p.fail(e.line, e.name, "tier must be 1..8");
      t.switches.push_back(s);
    } else if (e.name == "link") {
      Link l;
      a.ref("a", l.a);
      a.ref("b", l.b);
      a.choice("type", l.type,
               {LinkType::Pcie, LinkType::NvLink, LinkType::Network, LinkType::Memory});
      a.num("count", l.count);
      a.num("gbps", l.gbps);
      a.num("latency_us", l.latency_us);
      t.links.push_back(l);
    } else {
      p.fail(e.line, e.name, "unknown element");
    }
    a.done();
  }
  if (host != kNone) p.fail(e.line, "host", "not closed");
  if (!root_closed) p.fail(e.line, "colossus_topology", "not closed (truncated file?)");
  try {
    t.finish();
  } catch (const Error& err) {
    throw Error(ErrorCode::InvalidArgument, file + ": " + err.what());
  }
  return t;
}

}  // namespace colossus::topology
