// Kernel symbols and debug info from vmlinux, through elfutils' libdwfl:
// name → address (ELF symtab), "name+0x48" and "file:line" code points,
// address → function+offset/size and file:line with the inline chain, and
// struct member offsets (task_struct.comm) for reading guest memory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rig/base/guest_addr.h"
#include "rig/base/result.h"

namespace racerig::dwarf {

struct ResolvedPoint {
  GuestAddr addr;  // the lowest of `addrs`
  std::string function;
  uint64_t offset = 0;
  // Every address where the point's code runs: one for a symbol; for a
  // file:line, each is_stmt row that starts that line's code, inlined
  // copies included (as gdb's "break file:line" with several locations).
  std::vector<GuestAddr> addrs;
};

struct Symbolized {
  std::string function;  // empty when no symbol covers the address
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string text;      // "iomap_page_mkwrite+0x48/0x1e0"
  std::string file;      // source file of the innermost frame ("" if unknown)
  uint32_t line = 0;
  std::vector<std::string> inlined;  // "func at file:line", innermost inlined frame first
};

// A source line: the file as WindowAddress::file names it, and the line.
struct SourceLine {
  std::string file;
  uint32_t line = 0;
  bool operator==(const SourceLine&) const = default;
};

// One statement address of a window of code (Symbols::window).
struct WindowAddress {
  GuestAddr addr;
  // The innermost function the address's code belongs to (dwarf_getscopes):
  // an inlined callee's name when the address is in inlined code.
  std::string function;
  // Source file of the line-table row, relative to its CU's comp_dir when
  // under it ("fs/xfs/xfs_file.c", "include/linux/fs.h"), so that names are
  // the same for trees built in different directories; absolute otherwise.
  std::string file;
  // The statement whose code starts here: the last is_stmt row at addr.
  uint32_t line = 0;
  // Every statement that starts at addr, in line-table order, each once;
  // the last is file:line. Statements that compiled to no code of their
  // own start at the next statement's address: in 6.1's
  // __xfs_filemap_fault, lines 1345, 1346, 1348 (a static-key tracepoint)
  // and 1350 all start at one address; stopping there is stopping at each.
  std::vector<SourceLine> statements;
};

class Symbols {
 public:
  // Opens the ELF; errors name the file. Debug info is read lazily.
  static Result<std::unique_ptr<Symbols>> open(const std::string& elf_path);
  ~Symbols();
  Symbols(const Symbols&) = delete;
  Symbols& operator=(const Symbols&) = delete;

  // Symbol table lookup; unknown → kInput with "did you mean" suggestions.
  Result<GuestAddr> address_of(std::string_view name) const;
  // Near names: prefix/substring matches and small edit distances.
  std::vector<std::string> suggest(std::string_view name, size_t max = 5) const;
  // "name", "name+0x48", "name+72", or "path/file.c:1234" (a path suffix is
  // enough; every is_stmt address of the line, see ResolvedPoint). Errors
  // (kInput) name the spec and say what was wrong.
  Result<ResolvedPoint> resolve(std::string_view spec) const;
  // Function+offset, file:line and inline chain of an address.
  std::optional<Symbolized> symbolize(GuestAddr addr) const;
  // Byte offset of `member` in `struct struct_name`, looking through
  // anonymous struct/union members.
  Result<uint64_t> member_offset(std::string_view struct_name, std::string_view member) const;
  // Byte offset of `member` in the type of the global variable `variable`
  // (through typedefs, qualifiers and anonymous members), from its DWARF
  // DW_TAG_variable: for per-CPU structs like pcpu_hot. kInput errors say
  // whether the variable or the member is missing.
  Result<uint64_t> variable_member_offset(std::string_view variable, std::string_view member) const;
  // The statement addresses of a window of kernel code, for `racerig
  // explore`: every is_stmt line-table address (not an end_sequence) inside
  // the code of each function of `functions` (its out-of-line copy and every
  // inlined copy of it, in any CU; code inlined into it included) and every
  // is_stmt address of each "file:first-last" range of `line_ranges` (a path
  // suffix names the file, as in resolve(); first <= last): the addresses
  // where a statement of those lines starts (WindowAddress::statements).
  // Sorted by address, each address once. Errors (kInput, naming the spec): an unknown
  // function (with near names), a function without code, a malformed or
  // ambiguous range, a range without code. Reads every CU's top-level DIEs
  // (and, for ranges, every CU's line table) on each call.
  Result<std::vector<WindowAddress>> window(const std::vector<std::string>& functions,
                                            const std::vector<std::string>& line_ranges) const;
  // GNU build-id of the ELF in hex ("" if none).
  const std::string& build_id() const { return build_id_; }
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  Symbols() = default;
  std::unique_ptr<Impl> impl_;
  std::string build_id_;
  std::string path_;
};

}  // namespace racerig::dwarf
