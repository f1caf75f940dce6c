// SHA-256 digests as lowercase hex, for cache keys and content checks. Its
// own target (racerig_sha256, libcrypto) so the static guest agent, which
// links racerig_base, does not pull in OpenSSL.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "rig/base/result.h"

namespace racerig {

// The SHA-256 of `data`: 64 lowercase hex digits. Never fails.
std::string sha256_hex(std::string_view data);

// The SHA-256 of the file at `path`, read in chunks (any size): 64 lowercase
// hex digits. Fails (kIo) with "opening PATH: <strerror>" or "reading PATH:
// <strerror>"; (kInternal) "sha256 context" when OpenSSL cannot start one.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

}  // namespace racerig
