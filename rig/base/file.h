// Whole-file reading and writing, with errors that name the path: the one
// implementation every module uses instead of a private ifstream loop.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "rig/base/result.h"

namespace racerig {

// The largest file read_file takes unless told otherwise.
inline constexpr size_t kDefaultMaxFileBytes = size_t{64} << 20;

// The whole content of `path` (binary, nothing converted). Does not block
// beyond the reads themselves. Fails (kIo) with "reading PATH: <strerror>"
// when the file cannot be opened or read, and with "reading PATH: larger than
// N bytes" when it holds more than `max_bytes` (files of /proc, whose size
// stat() does not tell, are counted as they are read).
Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes = kDefaultMaxFileBytes);

// read_file for a file with a role, which errors name before the path:
// `what` "scenario" gives "reading scenario PATH: <strerror>".
Result<std::string> read_file(const std::filesystem::path& path, std::string_view what,
                              size_t max_bytes = kDefaultMaxFileBytes);

// Replaces the content of `path` with `text`, creating it (mode 0644 before
// the umask) when missing; `durable` fsyncs it before returning. Fails (kIo)
// with "writing PATH: <strerror>"; a failed write may leave `path` partly
// written.
Status write_file(const std::filesystem::path& path, std::string_view text, bool durable = false);

// Writes `text` to "PATH.tmp<pid>" beside `path` and renames it over `path`:
// a reader sees the old content or the new one, never a part. `durable`
// fsyncs the file before the rename. Fails (kIo) with "writing PATH.tmp<pid>:
// <strerror>" or "renaming PATH.tmp<pid> to PATH: <strerror>", and then
// removes the temporary file.
Status write_file_atomic(const std::filesystem::path& path, std::string_view text, bool durable = false);

}  // namespace racerig
