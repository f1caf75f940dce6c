// Small text helpers shared by reports and error messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace racerig {

// The last `n` non-empty lines of `text` (a trailing '\r' dropped from each),
// joined with '\n'; "" when there are none or `n` is 0.
std::string last_lines(std::string_view text, size_t n);

// `v` in lowercase hex with a 0x prefix and no padding: "0x1f000".
std::string hex(uint64_t v);

}  // namespace racerig
