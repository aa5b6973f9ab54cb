// xml.hpp: Topology <-> XML text.
//
// The format (see topology/README.md) mirrors the model: a <string> table,
// then <host> elements holding their <numa>, <pci_switch>, <gpu> and <nic>
// elements, then <nvswitch>, <switch> and <link> elements. Attributes equal
// to the model's defaults are left out on export and may be left out in
// hand-written files. Object references are indices in file order, per kind
// ("gpu:3" in a link is the fourth <gpu> of the file).
//
// Export then import gives an equal Topology (operator==). Import of a
// malformed file throws Error(InvalidArgument) naming the file, the line and
// the element: "x.xml:12: <gpu>: unknown attribute 'nvlnks'". The parser is a
// small hand-written one (elements, attributes, comments, the five standard
// entities; no DTDs, no text content) so the library needs no XML package.
#pragma once

#include <string>

#include "topology/model.hpp"

namespace colossus::topology {

std::string to_xml(const Topology& topo);
// `name` is used in error messages only.
Topology from_xml(const std::string& text, const std::string& name = "<xml>");

// File variants; errors name the path. save_xml writes a temporary file and
// renames it, so ranks racing on one path never leave a torn file.
void save_xml(const Topology& topo, const std::string& path);
Topology load_xml(const std::string& path);

}  // namespace colossus::topology
