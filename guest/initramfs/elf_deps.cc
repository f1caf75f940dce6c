// ELF program and dynamic headers, library search.
#include "guest/initramfs/elf_deps.h"

#include <elf.h>

#include <cstring>
#include <deque>
#include <set>

#include "rig/base/file.h"

namespace racerig::initramfs {

namespace {

template <typename T>
bool read_at(std::string_view bytes, uint64_t offset, T* out) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(out, bytes.data() + offset, sizeof(T));
  return true;
}

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t c = s.find(':', pos);
    if (c == std::string::npos) c = s.size();
    if (c > pos) out.push_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  return out;
}

}  // namespace

Result<ElfInfo> read_elf_info(std::string_view bytes, const std::string& name) {
  auto bad = [&](const std::string& what) { return make_error(ErrorKind::kInput, name + ": " + what); };
  Elf64_Ehdr eh;
  if (!read_at(bytes, 0, &eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return bad("not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return bad("not a 64-bit little-endian ELF file");
  ElfInfo info;
  info.machine = eh.e_machine;
  if (eh.e_phnum != 0 && eh.e_phentsize != sizeof(Elf64_Phdr))
    return bad("program header size " + std::to_string(eh.e_phentsize) + ", expected " +
               std::to_string(sizeof(Elf64_Phdr)));
  std::vector<Elf64_Phdr> phdrs;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!read_at(bytes, eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), &ph))
      return bad("program header " + std::to_string(i) + " lies past the end of the file");
    phdrs.push_back(ph);
  }
  const Elf64_Phdr* dynamic = nullptr;
  for (const auto& ph : phdrs) {
    if (ph.p_type == PT_INTERP) {
      if (ph.p_offset > bytes.size() || bytes.size() - ph.p_offset < ph.p_filesz) return bad("PT_INTERP past the end");
      std::string_view s(bytes.data() + ph.p_offset, ph.p_filesz);
      info.interpreter = std::string(s.substr(0, s.find('\0')));
    } else if (ph.p_type == PT_DYNAMIC) {
      dynamic = &ph;
    }
  }
  if (dynamic == nullptr) return info;

  // Dynamic entries hold addresses; PT_LOAD maps them to file offsets.
  auto to_offset = [&](uint64_t vaddr, uint64_t* off) {
    for (const auto& ph : phdrs) {
      if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
        *off = ph.p_offset + (vaddr - ph.p_vaddr);
        return true;
      }
    }
    return false;
  };
  uint64_t strtab = 0, strsz = 0;
  std::vector<uint64_t> needed, rpath, runpath;
  const uint64_t count = dynamic->p_filesz / sizeof(Elf64_Dyn);
  for (uint64_t i = 0; i < count; ++i) {
    Elf64_Dyn d;
    if (!read_at(bytes, dynamic->p_offset + i * sizeof(Elf64_Dyn), &d)) return bad("PT_DYNAMIC past the end");
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_STRTAB: strtab = d.d_un.d_ptr; break;
      case DT_STRSZ: strsz = d.d_un.d_val; break;
      case DT_NEEDED: needed.push_back(d.d_un.d_val); break;
      case DT_RPATH: rpath.push_back(d.d_un.d_val); break;
      case DT_RUNPATH: runpath.push_back(d.d_un.d_val); break;
      default: break;
    }
  }
  if (needed.empty() && rpath.empty() && runpath.empty()) return info;
  uint64_t str_off = 0;
  if (strtab == 0 || !to_offset(strtab, &str_off)) return bad("DT_STRTAB is not inside a PT_LOAD segment");
  if (str_off > bytes.size() || bytes.size() - str_off < strsz) return bad("DT_STRTAB/DT_STRSZ past the end");
  std::string_view table(bytes.data() + str_off, strsz);
  auto str = [&](uint64_t at, std::string* out) {
    if (at >= table.size()) return false;
    std::string_view s = table.substr(at);
    size_t nul = s.find('\0');
    if (nul == std::string_view::npos) return false;
    *out = std::string(s.substr(0, nul));
    return true;
  };
  for (uint64_t at : needed) {
    std::string s;
    if (!str(at, &s)) return bad("DT_NEEDED string at " + std::to_string(at) + " outside DT_STRTAB");
    info.needed.push_back(s);
  }
  for (uint64_t at : rpath) {
    std::string s;
    if (!str(at, &s)) return bad("DT_RPATH string outside DT_STRTAB");
    for (auto& p : split_colons(s)) info.rpath.push_back(p);
  }
  for (uint64_t at : runpath) {
    std::string s;
    if (!str(at, &s)) return bad("DT_RUNPATH string outside DT_STRTAB");
    for (auto& p : split_colons(s)) info.runpath.push_back(p);
  }
  return info;
}

Result<ElfInfo> read_elf_file(const std::filesystem::path& path) {
  RACERIG_ASSIGN(std::string bytes, read_file(path));
  return read_elf_info(bytes, path.string());
}

std::vector<std::string> default_library_dirs() {
  return {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"};
}

Result<std::vector<GuestFile>> shared_library_closure(const std::filesystem::path& binary,
                                                      const std::vector<std::string>& dirs) {
  RACERIG_ASSIGN(ElfInfo top, read_elf_file(binary));
  std::vector<GuestFile> out;
  if (top.interpreter.empty() && top.needed.empty()) return out;
  if (!top.interpreter.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(top.interpreter, ec))
      return make_error(ErrorKind::kInput, binary.string() + ": its interpreter " + top.interpreter + " does not exist");
    out.push_back(GuestFile{top.interpreter, top.interpreter});
  }
  std::set<std::string> seen;  // sonames
  struct Pending {
    std::string soname;
    std::filesystem::path needed_by;
    std::vector<std::string> search;
  };
  auto search_path = [&](const ElfInfo& info, const std::filesystem::path& who) {
    std::vector<std::string> s;
    const std::string origin = who.parent_path().string();
    auto expand = [&](std::string d) {
      for (const char* tok : {"$ORIGIN", "${ORIGIN}"}) {
        for (size_t at; (at = d.find(tok)) != std::string::npos;) d.replace(at, std::strlen(tok), origin);
      }
      return d;
    };
    if (info.runpath.empty())
      for (const auto& d : info.rpath) s.push_back(expand(d));
    for (const auto& d : info.runpath) s.push_back(expand(d));
    for (const auto& d : dirs) s.push_back(d);
    return s;
  };
  std::deque<Pending> todo;
  for (const auto& n : top.needed) todo.push_back({n, binary, search_path(top, binary)});
  while (!todo.empty()) {
    Pending p = todo.front();
    todo.pop_front();
    if (!seen.insert(p.soname).second) continue;
    // The loader is already in memory as itself: a DT_NEEDED on it (libc
    // has one) needs no second copy.
    if (!top.interpreter.empty() && std::filesystem::path(top.interpreter).filename() == p.soname) continue;
    bool found = false;
    for (const auto& dir : p.search) {
      std::filesystem::path cand = std::filesystem::path(dir) / p.soname;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(cand, ec)) continue;
      auto info = read_elf_file(cand);
      if (!info.ok() || info->machine != top.machine) continue;
      out.push_back(GuestFile{cand.string(), cand});
      for (const auto& n : info->needed) todo.push_back({n, cand, search_path(*info, cand)});
      found = true;
      break;
    }
    if (!found) {
      std::string where;
      for (const auto& d : p.search) where += (where.empty() ? "" : ", ") + d;
      return make_error(ErrorKind::kInput, p.needed_by.string() + " needs " + p.soname + ", found in none of: " + where);
    }
  }
  return out;
}

}  // namespace racerig::initramfs
