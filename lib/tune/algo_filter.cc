#include "tune/algo_filter.hpp"

#include <cctype>

#include "colossus/error.hpp"

namespace colossus::tune {

using algorithms::Algo;
using plan::Collective;

namespace {

constexpr unsigned kAll = (1u << algorithms::kNumAlgos) - 1;

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

[[noreturn]] void bad(const std::string& spec, const std::string& why) {
  std::string known;
  for (int i = 0; i < algorithms::kNumAlgos; ++i) {
    known += (i ? ", " : "") + std::string(algorithms::to_string(static_cast<Algo>(i)));
  }
  throw Error(ErrorCode::InvalidArgument, "algorithm selection \"" + spec + "\": " + why +
                                              " (algorithms: " + known +
                                              "; collectives: " + plan::collective_names() + ")");
}

// "tree,ring" or "^ring" -> bit set of allowed algorithms.
unsigned parse_list(const std::string& spec, std::string list) {
  list = trim(list);
  bool exclude = false;
  if (!list.empty() && list[0] == '^') {
    exclude = true;
    list = list.substr(1);
  }
  unsigned bits = 0;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = list.find(',', pos);
    const std::string name =
        trim(list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (name.empty()) bad(spec, "empty algorithm name");
    const auto algo = algorithms::parse_algo(name);
    if (!algo) bad(spec, "unknown algorithm \"" + name + "\"");
    bits |= 1u << static_cast<unsigned>(*algo);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return exclude ? (kAll & ~bits) : bits;
}

}  // namespace

AlgoFilter::AlgoFilter() { allowed_.fill(kAll); }

AlgoFilter AlgoFilter::parse(const std::string& spec) {
  AlgoFilter f;
  f.spec_ = spec;
  const std::string s = trim(spec);
  if (s.empty()) return f;
  if (s.find(':') == std::string::npos) {  // one list for every collective
    const unsigned bits = parse_list(spec, s);
    f.allowed_.fill(bits);
    f.restricted_.fill(true);
    return f;
  }
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t semi = s.find(';', pos);
    const std::string part =
        trim(s.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos));
    pos = semi == std::string::npos ? s.size() : semi + 1;
    if (part.empty()) continue;
    const std::size_t colon = part.find(':');
    if (colon == std::string::npos) bad(spec, "\"" + part + "\" lacks \"collective:\"");
    const std::string name = trim(part.substr(0, colon));
    const auto parsed = plan::parse_collective(name);
    if (!parsed) bad(spec, "unknown collective \"" + name + "\"");
    const auto coll = static_cast<std::size_t>(*parsed);
    f.allowed_[coll] = parse_list(spec, part.substr(colon + 1));
    f.restricted_[coll] = true;
    f.named_[coll] = true;
  }
  return f;
}

bool AlgoFilter::allows(Collective coll, Algo algo) const {
  return (allowed_[static_cast<std::size_t>(coll)] >> static_cast<unsigned>(algo)) & 1u;
}

bool AlgoFilter::restricted(Collective coll) const {
  return restricted_[static_cast<std::size_t>(coll)];
}

}  // namespace colossus::tune
