#include "colossus-sim/output.hpp"

#include <cmath>
#include <cstdlib>

namespace colossus::sim_tool {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

namespace {

// RFC 4180: quote a field holding a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void pad(std::FILE* out, const std::string& s, int width) {
  const int w = std::abs(width);
  if (width < 0) {
    std::fprintf(out, " %-*s", w, s.c_str());
  } else {
    std::fprintf(out, " %*s", w, s.c_str());
  }
}

}  // namespace

Cell Cell::number(double v, int decimals) {
  if (!std::isfinite(v)) return {"-", "", "null"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return {buf, buf, buf};
}

Cell Cell::integer(std::uint64_t v) {
  const std::string s = std::to_string(v);
  return {s, s, s};
}

Cell Cell::text(const std::string& s) { return {s, csv_field(s), json_string(s)}; }

Cell Cell::flag(bool v, const char* mark) {
  return {v ? mark : "", v ? "true" : "false", v ? "true" : "false"};
}

Cell Cell::none() { return {"-", "", "null"}; }

Writer::Writer(Format format, std::FILE* out, std::vector<Column> columns)
    : format_(format), out_(out), columns_(std::move(columns)) {}

void Writer::comment(const std::string& line) {
  if (format_ == Format::Table) std::fprintf(out_, "# %s\n", line.c_str());
}

void Writer::separator() {
  if (format_ == Format::Table && rows_ > 0) std::fputc('\n', out_);
}

void Writer::header() {
  if (header_done_) return;
  header_done_ = true;
  if (format_ == Format::Table) {
    std::fputc('#', out_);
    for (const Column& c : columns_) {
      if (c.table) pad(out_, c.label, c.width);
    }
    std::fputc('\n', out_);
  } else if (format_ == Format::Csv) {
    for (const Column& c : columns_) std::fprintf(out_, "%s,", c.key.c_str());
    std::fputs("refused\n", out_);
  } else {
    std::fputs("[", out_);
  }
}

void Writer::row(const std::vector<Cell>& cells, const std::string& refused) {
  header();
  const bool ok = refused.empty();
  if (format_ == Format::Table) {
    std::fputc(' ', out_);
    for (std::size_t i = 0; i < columns_.size() && i < cells.size(); ++i) {
      if (!columns_[i].table) continue;
      if (!ok && columns_[i].result) {
        std::fprintf(out_, "  refused: %s", refused.c_str());
        break;
      }
      pad(out_, cells[i].table, columns_[i].width);
    }
    std::fputc('\n', out_);
  } else if (format_ == Format::Csv) {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const bool keep = i < cells.size() && (ok || !columns_[i].result);
      std::fprintf(out_, "%s,", keep ? cells[i].csv.c_str() : "");
    }
    std::fprintf(out_, "%s\n", csv_field(refused).c_str());
  } else {
    std::fputs(rows_ ? ",\n  {" : "\n  {", out_);
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const bool keep = i < cells.size() && (ok || !columns_[i].result);
      std::fprintf(out_, "%s:%s, ", json_string(columns_[i].key).c_str(),
                   keep ? cells[i].json.c_str() : "null");
    }
    std::fprintf(out_, "\"refused\":%s}", ok ? "null" : json_string(refused).c_str());
  }
  ++rows_;
  std::fflush(out_);
}

void Writer::finish() {
  if (finished_) return;
  finished_ = true;
  if (format_ == Format::Json) {
    header();
    std::fputs(rows_ ? "\n]\n" : "]\n", out_);
  }
  std::fflush(out_);
}

}  // namespace colossus::sim_tool
