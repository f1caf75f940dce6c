// OpStatus: how one guest operation ended, with the errno the event carries.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace racerig::agent {

struct OpStatus {
  bool ok = true;
  int err_no = 0;             // 0 for a failed data check or a bad argument
  bool check_failed = false;  // data or DAX state not as expected
  std::string message;

  static OpStatus success(std::string note = {}) { return OpStatus{true, 0, false, std::move(note)}; }
  // Reads errno now: "<what>: <strerror(errno)>".
  static OpStatus sys(const std::string& what) {
    int e = errno;
    return OpStatus{false, e, false, what + ": " + std::strerror(e)};
  }
  static OpStatus sys_errno(int e, const std::string& what) {
    return OpStatus{false, e, false, what + ": " + std::strerror(e)};
  }
  static OpStatus check(std::string message) { return OpStatus{false, 0, true, std::move(message)}; }
  static OpStatus invalid(std::string message) { return OpStatus{false, 0, false, std::move(message)}; }
};

}  // namespace racerig::agent
