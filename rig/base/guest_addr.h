// GuestAddr: a guest virtual address, kept apart from plain integers.
#pragma once

#include <compare>
#include <cstdint>
#include <cstdio>
#include <string>

namespace racerig {

class GuestAddr {
 public:
  constexpr GuestAddr() = default;
  constexpr explicit GuestAddr(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  constexpr GuestAddr operator+(int64_t delta) const { return GuestAddr(value_ + static_cast<uint64_t>(delta)); }
  constexpr auto operator<=>(const GuestAddr&) const = default;
  std::string hex() const {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(value_));
    return buf;
  }

 private:
  uint64_t value_ = 0;
};

}  // namespace racerig
