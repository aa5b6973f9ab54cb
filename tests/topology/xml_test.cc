// XML export/import: exact round trips and clear errors for bad files.
#include "topology/xml.hpp"

#include <cstdio>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "topology/discover.hpp"
#include "topology/presets.hpp"

using namespace colossus::topology;

TEST_CASE("XML round trip of the discovered host is exact", "[topology][xml]") {
  const Topology t = discover_host();
  const Topology back = from_xml(to_xml(t));
  CHECK(back == t);
  CHECK(to_xml(back) == to_xml(t));
}

// The colossus file must stay practical to write and read. Export and
// import are single passes over the text, so their work is its size: a
// bounded number of bytes per element of the topology (measured: 95 to 143).
// How long the round trip takes is measured by bench/scale_bench.
constexpr std::size_t kXmlBytesPerElement = 256;

std::size_t elements(const Topology& t) {
  return t.hosts.size() + t.numas.size() + t.gpus.size() + t.nics.size() + t.pci_switches.size() +
         t.nvswitches.size() + t.switches.size() + t.links.size();
}

TEST_CASE("XML round trip of every preset is exact", "[topology][xml]") {
  for (const char* spec :
       {"laptop", "laptop:nodes=3", "dgx-h100", "dgx-h100:nodes=4", "colossus:nodes=600",
        "gb200-nvl72", "gb200-nvl72:nodes=40", "colossus"}) {
    INFO(spec);
    const Topology t = make_preset(spec);
    const std::string xml = to_xml(t);
    const Topology back = from_xml(xml, spec);
    CHECK(back == t);
    CHECK(back.source == t.source);
    INFO(xml.size() << " bytes of XML for " << elements(t) << " elements");
    CHECK(xml.size() <= kXmlBytesPerElement * elements(t));
  }
}

TEST_CASE("save_xml and load_xml go through a file", "[topology][xml]") {
  const Topology t = make_preset("dgx-h100:nodes=2");
  const std::string path = "topology_xml_test." + std::to_string(::getpid()) + ".xml";
  save_xml(t, path);
  const Topology back = load_xml(path);
  std::remove(path.c_str());
  CHECK(back == t);
  CHECK(back.source == "file " + path);
  CHECK_THROWS_WITH(load_xml("/nonexistent/x.xml"),
                    Catch::Contains("cannot open /nonexistent/x.xml"));
}

namespace {
std::string error_of(const std::string& xml) {
  try {
    from_xml(xml, "t.xml");
  } catch (const colossus::Error& e) {
    CHECK(e.code() == colossus::ErrorCode::InvalidArgument);
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("malformed XML names the line and the element", "[topology][xml]") {
  const std::string head = "<?xml version=\"1.0\"?>\n<colossus_topology version=\"1\">\n";
  CHECK(error_of("") == "t.xml:1: expected <colossus_topology> as the root element");
  CHECK(error_of("<topology/>") ==
        "t.xml:1: <topology>: expected <colossus_topology> as the root element");
  CHECK(error_of("<colossus_topology version=\"2\">") ==
        "t.xml:1: <colossus_topology>: unsupported version (this build reads 1)");
  CHECK(error_of(head +
                 "  <host name=\"a\">\n    <gpu nvlnks=\"3\"/>\n  </host>\n</colossus_topology>") ==
        "t.xml:4: <gpu>: unknown attribute 'nvlnks'");
  CHECK(error_of(head + "<host name=\"a\">\n<gpu nvlinks=\"many\"/></host></colossus_topology>") ==
        "t.xml:4: <gpu>: nvlinks=\"many\": expected a number");
  CHECK(error_of(head + "<host name=\"a\"/>\n<gpu/>\n</colossus_topology>") ==
        "t.xml:4: <gpu>: must be inside <host>");
  CHECK(error_of(head +
                 "<host name=\"a\">\n<nic layer=\"token-ring\"/></host></colossus_topology>") ==
        "t.xml:4: <nic>: layer=\"token-ring\": expected one of unknown, eth, ib");
  CHECK(error_of(head + "<host/>\n</colossus_topology>") ==
        "t.xml:3: <host>: missing attribute name");
  CHECK(error_of(head + "<link a=\"gpu:0\" b=\"nic:0\"/>\n</colossus_topology>") ==
        "t.xml: topology: link 0: bad gpu 0");
  CHECK(error_of(head + "<host name=\"a\">\n<gpu pci=\"18:00.0\"/>") ==
        "t.xml:4: <gpu>: pci=\"18:00.0\": expected a PCI address like 0000:18:00.0");
  CHECK(error_of(head + "<host name=\"a\">\n</host>\n") ==
        "t.xml:4: <colossus_topology>: not closed (truncated file?)");
  CHECK(error_of(head + "<host name=\"a\" name=\"b\"/>") ==
        "t.xml:3: <host>: attribute name given twice");
  CHECK(error_of(head + "<host name=\"a\"\n") == "t.xml:3: <host>: unterminated tag");
  CHECK(error_of(head + "<!-- never closed") == "t.xml:3: unterminated comment");
  CHECK(error_of(head + "text</colossus_topology>") ==
        "t.xml:3: text outside a tag is not allowed");
  CHECK(error_of(head + "<router/></colossus_topology>") == "t.xml:3: <router>: unknown element");
  CHECK(error_of(head + "</host></colossus_topology>") ==
        "t.xml:3: <host>: unexpected closing tag");
}

TEST_CASE("hand-written files may leave defaults out", "[topology][xml]") {
  const Topology t = from_xml(
      "<colossus_topology version='1'>\n"
      "  <!-- a VM whose discovery lies -->\n"
      "  <host name='vm1' cores='4' mem_gbps='6.5'>\n"
      "    <numa cores='4'/>\n"
      "    <gpu numa='0' model='L4' pcie_gbps='31.5'/>\n"
      "    <nic name='eth0' gbits='25' layer='eth'/>\n"
      "  </host>\n"
      "</colossus_topology>\n");
  REQUIRE(t.hosts.size() == 1);
  CHECK(t.hosts[0].mem_gbps == 6.5);
  CHECK(t.gpus[0].pcie_gbps == 31.5);
  CHECK(t.str(t.gpus[0].model) == "L4");
  CHECK(t.nics[0].gbits == 25);
  CHECK(t.nics[0].up);
}
