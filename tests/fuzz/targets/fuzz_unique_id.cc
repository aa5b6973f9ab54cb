// fuzz_unique_id: the unique id as it arrives from outside, as text (an
// environment variable, a file: parse_unique_id) and as the 128 raw bytes a
// framework hands over (check_unique_id, which init runs before trusting
// any field). Properties: no crash or sanitizer report; an id that parses
// prints back to text that parses to the same bytes; check_unique_id
// explains every refusal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bootstrap/unique_id.hpp"

using namespace colossus::bootstrap;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("fuzz_unique_id: property failed: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  UniqueId id;
  if (parse_unique_id(text, &id)) {
    UniqueId again;
    check(parse_unique_id(to_string(id), &again), "a parsed id prints to text that parses");
    check(std::memcmp(&id, &again, sizeof id) == 0, "an id survives a text round trip");
  }
  UniqueId raw;
  std::memset(&raw, 0, sizeof raw);
  std::memcpy(&raw, data, size < sizeof raw ? size : sizeof raw);
  std::string why;
  if (!check_unique_id(raw, &why)) check(!why.empty(), "a refused id says why");
  return 0;
}
