// Reading a file that decides who may call racerigd (the tokens file, the
// client identities file) after checking that nobody else can change it.
#pragma once

#include <filesystem>
#include <string>

#include "rig/base/result.h"

namespace racerig::service {

// The content (at most 1 MiB) of `path`, checked and read through one
// descriptor so that what was checked is what is read. Refused (kInput,
// naming `what`, the path, why and the fix) unless it is a regular file
// owned by root or by our effective user that neither group nor others may
// write; with `secret`, they may not read it either. `what` is e.g. "the
// tokens file".
Result<std::string> read_guarded_file(const std::filesystem::path& path, const std::string& what, bool secret);

}  // namespace racerig::service
