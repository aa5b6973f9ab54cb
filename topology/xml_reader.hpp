// xml_reader.hpp: the small pull parser behind from_xml (internal).
//
// Contract of XmlReader: next() returns one tag at a time (opening,
// self-closing or closing) with its line and unescaped attributes; text
// between tags must be whitespace; comments and <?...?> are skipped;
// DOCTYPE/CDATA are refused. Every error throws Error(InvalidArgument) as
// "NAME:LINE: <element>: why". Attribute names are views into the text,
// which must outlive the reader.
#pragma once

#include <cctype>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "colossus/error.hpp"

namespace colossus::topology::detail {

struct Element {
  std::string_view name;
  int line = 0;
  bool close = false;         // </name>
  bool self_closing = false;  // <name/>
  std::vector<std::pair<std::string_view, std::string>> attrs;
};

// Pulls one tag at a time; text between tags must be whitespace.
class XmlReader {
 public:
  XmlReader(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  [[noreturn]] void fail(int line, std::string_view elem, const std::string& why) const {
    std::string msg = name_ + ":" + std::to_string(line) + ": ";
    if (!elem.empty()) msg += "<" + std::string(elem) + ">: ";
    throw Error(ErrorCode::InvalidArgument, msg + why);
  }

  // False at the end of the text.
  bool next(Element& e) {
    e.attrs.clear();
    e.close = e.self_closing = false;
    while (true) {
      skip_space();
      if (p_ >= s_.size()) return false;
      if (s_[p_] != '<') fail(line_, "", "text outside a tag is not allowed");
      if (s_.compare(p_, 4, "<!--") == 0) {
        skip_past("-->", "unterminated comment");
      } else if (s_.compare(p_, 2, "<?") == 0) {
        skip_past("?>", "unterminated <?...?>");
      } else if (s_.compare(p_, 2, "<!") == 0) {
        fail(line_, "", "DOCTYPE and CDATA are not supported");
      } else {
        break;
      }
    }
    e.line = line_;
    ++p_;
    if (p_ < s_.size() && s_[p_] == '/') e.close = true, ++p_;
    e.name = name();
    if (e.name.empty()) fail(line_, "", "expected an element name after '<'");
    while (true) {
      skip_space();
      if (p_ >= s_.size()) fail(e.line, e.name, "unterminated tag");
      if (s_[p_] == '>') {
        ++p_;
        return true;
      }
      if (!e.close && s_.compare(p_, 2, "/>") == 0) {
        p_ += 2;
        e.self_closing = true;
        return true;
      }
      if (e.close) fail(line_, e.name, "a closing tag has no attributes");
      const std::string_view key = name();
      if (key.empty()) fail(line_, e.name, std::string("unexpected '") + s_[p_] + "'");
      skip_space();
      if (p_ >= s_.size() || s_[p_] != '=')
        fail(line_, e.name, "expected '=' after " + std::string(key));
      ++p_;
      skip_space();
      if (p_ >= s_.size() || (s_[p_] != '"' && s_[p_] != '\''))
        fail(line_, e.name, "attribute " + std::string(key) + ": expected a quoted value");
      const char q = s_[p_++];
      const std::size_t end = s_.find(q, p_);
      if (end == std::string::npos)
        fail(line_, e.name, "unterminated value of " + std::string(key));
      for (const auto& a : e.attrs)
        if (a.first == key) fail(line_, e.name, "attribute " + std::string(key) + " given twice");
      e.attrs.emplace_back(key, unescape(std::string_view(s_).substr(p_, end - p_), e));
      for (std::size_t i = p_; i < end; ++i) line_ += s_[i] == '\n';
      p_ = end + 1;
    }
  }

 private:
  void skip_space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\r' || s_[p_] == '\n'))
      line_ += s_[p_++] == '\n';
  }
  void skip_past(const char* end, const char* why) {
    const std::size_t e = s_.find(end, p_);
    if (e == std::string::npos) fail(line_, "", why);
    for (; p_ < e; ++p_) line_ += s_[p_] == '\n';
    p_ = e + std::strlen(end);
  }
  std::string_view name() {
    const std::size_t start = p_;
    while (p_ < s_.size() && (isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_' ||
                              s_[p_] == '-' || s_[p_] == ':' || s_[p_] == '.'))
      ++p_;
    return std::string_view(s_).substr(start, p_ - start);
  }
  std::string unescape(std::string_view v, const Element& e) const {
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '<') fail(line_, e.name, "'<' inside an attribute value");
      if (v[i] != '&') {
        out += v[i];
        continue;
      }
      static const std::pair<const char*, char> ents[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool ok = false;
      for (const auto& [ent, c] : ents) {
        if (v.substr(i).starts_with(ent)) {
          out += c;
          i += std::strlen(ent) - 1;
          ok = true;
          break;
        }
      }
      if (!ok) fail(line_, e.name, "unknown entity in attribute value");
    }
    return out;
  }

  const std::string& s_;
  const std::string& name_;
  std::size_t p_ = 0;
  int line_ = 1;
};

}  // namespace colossus::topology::detail
