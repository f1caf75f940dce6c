// libFuzzer target: racerigd's tokens file (rig/service's auth). The input's
// first line is an "authorization" value to look up, the rest the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rig/service/auth.h"

namespace service = racerig::service;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  std::string_view authorization = newline == std::string_view::npos ? input : input.substr(0, newline);
  std::string_view file = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  auto table = service::TokenTable::parse(file, "tokens");
  if (!table.ok()) return 0;
  (void)table->authenticate(authorization);
  (void)table->caller_of(authorization);
  if (table->admins() > table->size()) __builtin_trap();
  if (table->callers().size() != table->size()) __builtin_trap();
  return 0;
}
