// What a dynamically linked program needs in the guest: its interpreter
// (PT_INTERP) and its shared libraries (DT_NEEDED, transitively), found the
// way the dynamic loader finds them without an ld.so.cache. Read from the
// ELF files directly, no ldd.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/result.h"

namespace racerig::initramfs {

struct ElfInfo {
  uint16_t machine = 0;            // e_machine (62: x86-64)
  std::string interpreter;         // PT_INTERP, empty for a static binary
  std::vector<std::string> needed; // DT_NEEDED in order
  std::vector<std::string> rpath;  // DT_RPATH, split on ':'
  std::vector<std::string> runpath;
};

// Parses a 64-bit little-endian ELF image. Every offset is bounds-checked:
// a truncated or corrupt file is kInput naming `name` and what was wrong.
Result<ElfInfo> read_elf_info(std::string_view bytes, const std::string& name);
Result<ElfInfo> read_elf_file(const std::filesystem::path& path);

// Where the guest's loader looks after DT_RPATH/DT_RUNPATH (Debian x86-64).
std::vector<std::string> default_library_dirs();

struct GuestFile {
  std::string guest_path;           // where the guest's loader will look
  std::filesystem::path host_path;  // the file to copy (symlinks are followed)
};

// The interpreter and every library `binary` needs, transitively, each
// once: the interpreter at its PT_INTERP path, a library at
// "<dir it was found in>/<soname>". Libraries are searched in DT_RPATH
// (when there is no DT_RUNPATH), DT_RUNPATH ($ORIGIN expanded), then
// `dirs`; a candidate of another machine type is skipped. A library found
// nowhere is kInput naming it and who needs it. Empty for a static binary.
Result<std::vector<GuestFile>> shared_library_closure(const std::filesystem::path& binary,
                                                      const std::vector<std::string>& dirs);

}  // namespace racerig::initramfs
