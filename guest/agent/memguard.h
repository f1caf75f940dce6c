// Guarded access to a file mapping: a SIGBUS (access past EOF, a truncate
// racing the access) or SIGSEGV inside the copy becomes a value instead of
// killing the actor, so the event can say what happened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace racerig::agent {

struct MemFault {
  int signo = 0;
  uintptr_t addr = 0;
  std::string describe() const;  // "SIGBUS at 0x7f..."
};

// memset(dst, byte, n). The first touch of the range is a store.
std::optional<MemFault> guarded_fill(void* dst, uint8_t byte, size_t n);
// memcpy(dst, src, n) where either side may be a mapping.
std::optional<MemFault> guarded_copy(void* dst, const void* src, size_t n);

}  // namespace racerig::agent
