// nccl/params.cc: NCCL 2.30's parameter API over colossus's environment.
//
// The parameters are the variables the library reads
// (colossus::environment_settings: COLOSSUS_* and the NCCL_* it honours),
// keyed by their names. A value is the variable's text in the environment
// now; an unset one reads as "" through the string calls, and the typed
// calls say it is unset (colossus applies its default, which it does not
// export as text). Handles point at entries that live for the process.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

struct ncclParamHandle {
  std::string key;
};

namespace {

// The known settings now (values re-read on each call).
std::vector<EnvSetting> settings() { return environment_settings(); }

bool known(const std::string& key) {
  for (const EnvSetting& s : settings())
    if (s.name == key) return true;
  return false;
}

EnvSetting lookup(const char* fn, const std::string& key) {
  for (EnvSetting& s : settings())
    if (s.name == key) return s;
  fail(ncclInvalidArgument, std::string(fn) + ": no parameter named '" + key + "'");
}

const ncclParamHandle& check_handle(const char* fn, ncclParamHandle_t h) {
  if (!h) fail(ncclInvalidArgument, std::string(fn) + ": handle is NULL");
  return *h;
}

// The value of `h` as an integer of T's width.
template <class T>
void typed(const char* fn, ncclParamHandle_t h, T* out) {
  check_ptr(fn, "out", out);
  const EnvSetting s = lookup(fn, check_handle(fn, h).key);
  if (!s.set)
    fail(ncclInvalidUsage,
         std::string(fn) + ": " + s.name + " is not set (colossus applies its default)");
  errno = 0;
  char* end = nullptr;
  const char* text = s.value.c_str();
  bool ok = !s.value.empty();
  T v{};
  if constexpr (std::numeric_limits<T>::is_signed) {
    const long long x = std::strtoll(text, &end, 0);
    ok = ok && errno == 0 && *end == '\0' && x >= std::numeric_limits<T>::min() &&
         x <= std::numeric_limits<T>::max();
    v = static_cast<T>(x);
  } else {
    const unsigned long long x = std::strtoull(text, &end, 0);
    ok =
        ok && errno == 0 && *end == '\0' && s.value[0] != '-' && x <= std::numeric_limits<T>::max();
    v = static_cast<T>(x);
  }
  if (!ok)
    fail(ncclInvalidArgument,
         std::string(fn) + ": " + s.name + "='" + s.value + "' is not an integer of this width");
  *out = v;
}

}  // namespace

extern "C" {

ncclResult_t ncclParamBind(ncclParamHandle_t* out, const char* key) {
  const char* fn = "ncclParamBind";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "out", out);
    check_ptr(fn, "key", key);
    if (!known(key))
      fail(ncclInvalidArgument, std::string(fn) + ": no parameter named '" + key + "'");
    // One handle per key, for the life of the process.
    static std::mutex mu;
    static std::deque<ncclParamHandle> handles;
    std::lock_guard<std::mutex> lock(mu);
    for (ncclParamHandle& h : handles)
      if (h.key == key) {
        *out = &h;
        return ncclSuccess;
      }
    handles.push_back({key});
    *out = &handles.back();
    return ncclSuccess;
  });
}

#define COLOSSUS_PARAM_GET(Name, T)                              \
  ncclResult_t ncclParamGet##Name(ncclParamHandle_t h, T* out) { \
    return guarded("ncclParamGet" #Name, nullptr, [&] {          \
      typed("ncclParamGet" #Name, h, out);                       \
      return ncclSuccess;                                        \
    });                                                          \
  }
COLOSSUS_PARAM_GET(I8, int8_t)
COLOSSUS_PARAM_GET(I16, int16_t)
COLOSSUS_PARAM_GET(I32, int32_t)
COLOSSUS_PARAM_GET(I64, int64_t)
COLOSSUS_PARAM_GET(U8, uint8_t)
COLOSSUS_PARAM_GET(U16, uint16_t)
COLOSSUS_PARAM_GET(U32, uint32_t)
COLOSSUS_PARAM_GET(U64, uint64_t)
#undef COLOSSUS_PARAM_GET

ncclResult_t ncclParamGetStr(ncclParamHandle_t h, const char** out) {
  const char* fn = "ncclParamGetStr";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "out", out);
    thread_local std::string value;  // valid until this thread's next call
    value = lookup(fn, check_handle(fn, h).key).value;
    *out = value.c_str();
    return ncclSuccess;
  });
}

ncclResult_t ncclParamGet(ncclParamHandle_t h, void* out, int maxLen, int* len) {
  const char* fn = "ncclParamGet";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "out", out);
    check_ptr(fn, "len", len);
    const std::string value = lookup(fn, check_handle(fn, h).key).value;
    const int need = static_cast<int>(value.size()) + 1;  // the text and its NUL
    if (maxLen < need)
      fail(ncclInvalidArgument,
           std::string(fn) + ": maxLen " + std::to_string(maxLen) + " < " + std::to_string(need));
    std::memcpy(out, value.c_str(), static_cast<size_t>(need));
    *len = need;
    return ncclSuccess;
  });
}

ncclResult_t ncclParamGetParameter(const char* key, const char** value, int* valueLen) {
  const char* fn = "ncclParamGetParameter";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "key", key);
    check_ptr(fn, "value", value);
    check_ptr(fn, "valueLen", valueLen);
    thread_local std::string text;
    text = lookup(fn, key).value;
    *value = text.c_str();
    *valueLen = static_cast<int>(text.size());
    return ncclSuccess;
  });
}

ncclResult_t ncclParamGetAllParameterKeys(const char*** table, int* tableLen) {
  const char* fn = "ncclParamGetAllParameterKeys";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "table", table);
    check_ptr(fn, "tableLen", tableLen);
    thread_local std::vector<std::string> names;
    thread_local std::vector<const char*> pointers;
    names.clear();
    for (const EnvSetting& s : settings()) names.push_back(s.name);
    pointers.clear();
    for (const std::string& n : names) pointers.push_back(n.c_str());
    *table = pointers.data();
    *tableLen = static_cast<int>(pointers.size());
    return ncclSuccess;
  });
}

void ncclParamDumpAll(void) {
  for (const EnvSetting& s : settings())
    std::printf("colossus param %s=%s\n", s.name.c_str(), s.set ? s.value.c_str() : "(unset)");
  std::fflush(stdout);
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclParamBind);
COLOSSUS_NCCL_ALIAS(ncclParamGetI8);
COLOSSUS_NCCL_ALIAS(ncclParamGetI16);
COLOSSUS_NCCL_ALIAS(ncclParamGetI32);
COLOSSUS_NCCL_ALIAS(ncclParamGetI64);
COLOSSUS_NCCL_ALIAS(ncclParamGetU8);
COLOSSUS_NCCL_ALIAS(ncclParamGetU16);
COLOSSUS_NCCL_ALIAS(ncclParamGetU32);
COLOSSUS_NCCL_ALIAS(ncclParamGetU64);
COLOSSUS_NCCL_ALIAS(ncclParamGetStr);
COLOSSUS_NCCL_ALIAS(ncclParamGet);
COLOSSUS_NCCL_ALIAS(ncclParamGetParameter);
COLOSSUS_NCCL_ALIAS(ncclParamGetAllParameterKeys);
COLOSSUS_NCCL_ALIAS(ncclParamDumpAll);
