// config_parse.hpp: the value grammars config.cc and config_nccl.cc share.
// Internal to base; Config::from_env() is the way in.
#pragma once

#include "base/config.hpp"

namespace colossus::base::detail {

// The variable's value, or nullptr when it is unset or empty.
const char* env_get(const char* name);
// A decimal integer in [lo, hi], nothing around it.
bool parse_int(const char* text, long lo, long hi, long* out);
// NONE, VERSION, WARN, INFO, TRACE (any case); VERSION is None plus the version line.
bool parse_log_level(const char* text, LogLevel* level, bool* version);
// NCCL_DEBUG_SUBSYS's syntax: names (INIT, COLL, ..., ALL) separated by commas,
// the whole list inverted by a leading ^. Any case.
bool parse_log_subsys(const char* text, unsigned* mask);
// The names of the environment's variables that start with `prefix` and are
// not in `vars`, in the environment's order.
std::vector<std::string> env_names_not_in(const char* prefix, const std::vector<ConfigVar>& vars);
// Records "VAR=value ignored: why".
void warn(Config& c, const char* var, const char* val, const char* why);

// Applies the NCCL_* variables (config_nccl.cc) to fields no COLOSSUS_*
// variable has set, and lists the NCCL_* variables without a meaning here.
void read_nccl_env(Config& c);

}  // namespace colossus::base::detail
