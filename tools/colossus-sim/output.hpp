// output.hpp: result rows as an aligned table, CSV or one JSON document.
//
// The sweep and the loopback mode describe their columns once; every row
// then goes out as soon as it is known (a long sweep shows its rows as it
// goes; --json closes its array at finish()). A row whose run was refused
// carries the reason instead of its result cells: the table prints the
// reason from the first result column on, CSV and JSON leave them empty / null and put the
// reason in a last "refused" field.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "colossus-sim/options.hpp"

namespace colossus::sim_tool {

struct Column {
  std::string key;     // CSV header and JSON key
  std::string label;   // table header
  int width = 10;      // table column width; negative: left-aligned
  bool result = true;  // a result of the run: empty on refused rows
  bool table = true;   // false: CSV and JSON only (details too wide for the table)
};

// One value as each format writes it.
struct Cell {
  std::string table, csv, json;

  static Cell number(double v, int decimals);  // non-finite: empty / null
  static Cell integer(std::uint64_t v);
  static Cell text(const std::string& s);
  static Cell flag(bool v, const char* mark);  // table: mark or ""; CSV and JSON: true/false
  static Cell none();                          // table "-", CSV "", JSON null
};

std::string json_string(const std::string& s);  // quoted and escaped

class Writer {
 public:
  Writer(Format format, std::FILE* out, std::vector<Column> columns);
  // Table only: "# line" above the table (topology, fabric, legend).
  void comment(const std::string& line);
  // Table only: a blank line, between sizes.
  void separator();
  // `refused` non-empty: the run was refused; result cells are ignored.
  void row(const std::vector<Cell>& cells, const std::string& refused = "");
  // Closes the JSON array (prints "[]" for no rows); idempotent.
  void finish();

 private:
  void header();

  Format format_;
  std::FILE* out_;
  std::vector<Column> columns_;
  bool header_done_ = false, finished_ = false;
  std::size_t rows_ = 0;
};

}  // namespace colossus::sim_tool
