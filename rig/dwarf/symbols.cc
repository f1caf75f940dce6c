// Kernel symbols through libdwfl (see symbols.h).
#include "rig/dwarf/symbols.h"

#include "rig/dwarf/symbols_impl.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "rig/base/text.h"

namespace racerig::dwarf {

namespace {

char* no_debuginfo_path = nullptr;
const Dwfl_Callbacks kOfflineCallbacks = {
    dwfl_build_id_find_elf,
    dwfl_standard_find_debuginfo,
    dwfl_offline_section_address,
    &no_debuginfo_path,
};

size_t edit_distance(std::string_view a, std::string_view b, size_t cap) {
  if (a.size() > b.size() + cap || b.size() > a.size() + cap) return cap + 1;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    size_t best = cur[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      best = std::min(best, cur[j]);
    }
    if (best > cap) return cap + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool parse_number(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

Symbols::~Symbols() = default;

Result<std::unique_ptr<Symbols>> Symbols::open(const std::string& elf_path) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("opening " + elf_path);
  ::close(fd);
  std::unique_ptr<Symbols> s(new Symbols());
  s->path_ = elf_path;
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.dwfl = dwfl_begin(&kOfflineCallbacks);
  if (im.dwfl == nullptr) return make_error(ErrorKind::kInternal, std::string("dwfl_begin: ") + dwfl_errmsg(-1));
  dwfl_report_begin(im.dwfl);
  im.mod = dwfl_report_offline(im.dwfl, "vmlinux", elf_path.c_str(), -1);
  if (im.mod == nullptr)
    return make_error(ErrorKind::kInput, elf_path + " is not an ELF file libdw can read: " + dwfl_errmsg(-1));
  dwfl_report_end(im.dwfl, nullptr, nullptr);

  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  int len = dwfl_module_build_id(im.mod, &bits, &vaddr);
  for (int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", bits[i]);
    s->build_id_ += b;
  }
  int n = dwfl_module_getsymtab(im.mod);
  if (n <= 0) return make_error(ErrorKind::kInput, elf_path + " has no symbol table");
  for (int i = 1; i < n; ++i) {
    GElf_Sym sym;
    GElf_Addr addr = 0;
    const char* name = dwfl_module_getsym_info(im.mod, i, &sym, &addr, nullptr, nullptr, nullptr);
    if (name == nullptr || *name == '\0') continue;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) continue;
    auto [it, inserted] = im.by_name.emplace(name, Impl::Sym{addr, sym.st_size, type == STT_FUNC});
    // Prefer a global definition over a local of the same name.
    if (!inserted && GELF_ST_BIND(sym.st_info) == STB_GLOBAL) it->second = Impl::Sym{addr, sym.st_size, type == STT_FUNC};
  }
  return s;
}

std::vector<std::string> Symbols::suggest(std::string_view name, size_t max) const {
  std::vector<std::pair<size_t, std::string>> scored;
  size_t cap = std::max<size_t>(2, name.size() / 4);
  for (const auto& [n, sym] : impl_->by_name) {
    if (!sym.function) continue;
    size_t d;
    if (n.find(name) != std::string::npos || (name.size() > 4 && std::string_view(name).find(n) != std::string::npos && n.size() > 4))
      d = n.size() > name.size() ? n.size() - name.size() : name.size() - n.size();
    else
      d = edit_distance(name, n, cap);
    if (d <= cap) scored.emplace_back(d, n);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && out.size() < max; ++i) out.push_back(scored[i].second);
  return out;
}

Result<GuestAddr> Symbols::address_of(std::string_view name) const {
  auto it = impl_->by_name.find(std::string(name));
  if (it != impl_->by_name.end()) return GuestAddr(it->second.addr);
  std::string msg = "unknown symbol \"" + std::string(name) + "\" in " + path_;
  auto near = suggest(name);
  if (!near.empty()) {
    msg += "; did you mean ";
    for (size_t i = 0; i < near.size(); ++i) msg += (i ? ", \"" : "\"") + near[i] + "\"";
    msg += "?";
  } else {
    msg += " (it may be inlined or static: try file:line)";
  }
  return make_error(ErrorKind::kInput, msg);
}

Result<ResolvedPoint> Symbols::resolve(std::string_view spec) const {
  if (spec.empty()) return make_error(ErrorKind::kInput, "empty code point");
  size_t colon = spec.rfind(':');
  if (colon != std::string_view::npos) {
    std::string file(spec.substr(0, colon));
    uint64_t line = 0;
    if (!parse_number(spec.substr(colon + 1), &line) || line == 0 || line > 10000000)
      return make_error(ErrorKind::kInput, "\"" + std::string(spec) + "\": expected file:line with a line number");
    std::lock_guard<std::mutex> g(impl_->lock);
    Dwfl_Line** lines = nullptr;
    size_t nlines = 0;
    if (dwfl_module_getsrc_file(impl_->mod, file.c_str(), static_cast<int>(line), 0, &lines, &nlines) != 0 ||
        nlines == 0)
      return make_error(ErrorKind::kInput, "no code at " + std::string(spec) + " in " + path_ +
                                               " (the file is not compiled in, or that line generated no code)");
    // getsrc_file finds the CUs (and the line's files) that have code for
    // the line; their line tables then give every address, the way gdb
    // does it: each is_stmt row of exactly this line that starts a run of
    // it (the row before it in its sequence is another line).
    std::string files;
    int nearest = 0;
    std::vector<Dwarf_Die*> cus;
    for (size_t i = 0; i < nlines; ++i) {
      int got = 0;
      const char* src = dwfl_lineinfo(lines[i], nullptr, &got, nullptr, nullptr, nullptr);
      // libdwfl answers with the nearest line that has code; only an exact line counts.
      if (got != static_cast<int>(line)) {
        nearest = got;
        continue;
      }
      if (src != nullptr && files.find(src) == std::string::npos) files += std::string(files.empty() ? "" : ", ") + src;
      Dwarf_Die* cu = dwfl_linecu(lines[i]);
      if (cu != nullptr && std::find(cus.begin(), cus.end(), cu) == cus.end()) cus.push_back(cu);
    }
    free(lines);
    if (cus.empty())
      return make_error(ErrorKind::kInput, "no code at " + std::string(spec) + " in " + path_ +
                                               (nearest > 0 ? " (the nearest line with code is " + std::to_string(nearest) + ")" : ""));
    if (files.find(',') != std::string::npos)
      return make_error(ErrorKind::kInput, "\"" + std::string(spec) + "\" is ambiguous: " + files +
                                               "; give more of the path");
    Dwarf_Addr bias = 0;
    dwfl_module_getdwarf(impl_->mod, &bias);
    std::vector<uint64_t> found;
    for (Dwarf_Die* cu : cus) {
      Dwarf_Lines* table = nullptr;
      size_t n = 0;
      if (dwarf_getsrclines(cu, &table, &n) != 0) continue;
      int prev_line = -1;
      for (size_t i = 0; i < n; ++i) {
        Dwarf_Line* l = dwarf_onesrcline(table, i);
        int lno = 0;
        bool stmt = false, end = false;
        Dwarf_Addr a = 0;
        dwarf_lineno(l, &lno);
        dwarf_linebeginstatement(l, &stmt);
        dwarf_lineendsequence(l, &end);
        dwarf_lineaddr(l, &a);
        const char* src = dwarf_linesrc(l, nullptr, nullptr);
        const bool same_file = src != nullptr && files.find(src) != std::string::npos;
        const bool ours = same_file && lno == static_cast<int>(line);
        if (ours && stmt && !end && prev_line != static_cast<int>(line)) found.push_back(a + bias);
        // Rows that are not statements do not end a run of the line.
        if (end) {
          prev_line = -1;
        } else if (stmt || !ours) {
          prev_line = same_file ? lno : -1;
        }
      }
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    if (found.empty())
      return make_error(ErrorKind::kInput, "no statement starts at " + std::string(spec) + " in " + path_ +
                                               " (the line's code is only part of other statements)");
    ResolvedPoint p;
    p.addr = GuestAddr(found.front());
    for (uint64_t a : found) p.addrs.push_back(GuestAddr(a));
    const char* fn = dwfl_module_addrname(impl_->mod, found.front());
    if (fn != nullptr) {
      p.function = fn;
      auto it = impl_->by_name.find(fn);
      if (it != impl_->by_name.end()) p.offset = found.front() - it->second.addr;
    }
    return p;
  }
  std::string_view name = spec;
  uint64_t offset = 0;
  size_t plus = spec.find('+');
  if (plus != std::string_view::npos) {
    name = spec.substr(0, plus);
    if (!parse_number(spec.substr(plus + 1), &offset))
      return make_error(ErrorKind::kInput, "\"" + std::string(spec) + "\": the offset after + is not a number");
  }
  RACERIG_ASSIGN(GuestAddr base, address_of(name));
  auto it = impl_->by_name.find(std::string(name));
  if (offset != 0 && it->second.size != 0 && offset >= it->second.size)
    return make_error(ErrorKind::kInput, "\"" + std::string(spec) + "\": offset " + hex(offset) + " is past the end of " +
                                             std::string(name) + " (size " + hex(it->second.size) + ")");
  const GuestAddr at = base + static_cast<int64_t>(offset);
  return ResolvedPoint{at, std::string(name), offset, {at}};
}

std::optional<Symbolized> Symbols::symbolize(GuestAddr addr) const {
  std::lock_guard<std::mutex> g(impl_->lock);
  Symbolized out;
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(impl_->mod, addr.value(), &off, &sym, nullptr, nullptr, nullptr);
  if (name == nullptr) return std::nullopt;
  out.function = name;
  out.offset = off;
  out.size = sym.st_size;
  out.text = out.function + "+" + hex(off) + "/" + hex(sym.st_size);
  Dwfl_Line* line = dwfl_module_getsrc(impl_->mod, addr.value());
  if (line != nullptr) {
    int lineno = 0;
    const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
    if (file != nullptr) out.file = file;
    out.line = static_cast<uint32_t>(lineno);
  }
  // Inline chain: each DW_TAG_inlined_subroutine scope is called from its
  // caller at DW_AT_call_file:DW_AT_call_line.
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(impl_->mod, addr.value(), &bias);
  if (cu != nullptr) {
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cu, addr.value() - bias, &scopes);
    Dwarf_Files* files = nullptr;
    dwarf_getsrcfiles(cu, &files, nullptr);
    for (int i = 0; i < n; ++i) {
      if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
      const char* fn = die_name(&scopes[i]);
      Dwarf_Attribute attr;
      Dwarf_Word call_file = 0, call_line = 0;
      if (dwarf_attr(&scopes[i], DW_AT_call_file, &attr) != nullptr) dwarf_formudata(&attr, &call_file);
      if (dwarf_attr(&scopes[i], DW_AT_call_line, &attr) != nullptr) dwarf_formudata(&attr, &call_line);
      const char* cf = files != nullptr ? dwarf_filesrc(files, call_file, nullptr, nullptr) : nullptr;
      // The caller: the next enclosing inlined subroutine, else the
      // function the symbol table names (libdw does not always list the
      // subprogram among the scopes).
      const char* caller = nullptr;
      for (int j = i + 1; j < n && caller == nullptr; ++j) {
        int tag = dwarf_tag(&scopes[j]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) caller = die_name(&scopes[j]);
      }
      out.inlined.push_back(std::string(fn ? fn : "?") + " inlined by " + (caller ? caller : out.function.c_str()) +
                            " at " + (cf ? cf : "?") + ":" + std::to_string(call_line));
    }
    free(scopes);
  }
  return out;
}

Result<uint64_t> Symbols::member_offset(std::string_view struct_name, std::string_view member) const {
  std::lock_guard<std::mutex> g(impl_->lock);
  Dwarf_Die type;
  bool found = false;
  // Fast path: the CU that defines init_task has task_struct and its kin.
  auto it = impl_->by_name.find("init_task");
  if (it != impl_->by_name.end()) {
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(impl_->mod, it->second.addr, &bias);
    if (cu != nullptr) found = impl_->find_struct(cu, struct_name, &type);
  }
  if (!found) {
    Dwarf_Die* cu = nullptr;
    Dwarf_Addr bias = 0;
    while (!found && (cu = dwfl_module_nextcu(impl_->mod, cu, &bias)) != nullptr) found = impl_->find_struct(cu, struct_name, &type);
  }
  if (!found)
    return make_error(ErrorKind::kInput, "no definition of struct " + std::string(struct_name) + " in the DWARF of " + path_);
  auto off = impl_->find_member(&type, member);
  if (!off)
    return make_error(ErrorKind::kInput, "struct " + std::string(struct_name) + " has no member " + std::string(member));
  return *off;
}

Result<uint64_t> Symbols::variable_member_offset(std::string_view variable, std::string_view member) const {
  if (impl_->by_name.find(std::string(variable)) == impl_->by_name.end())
    return make_error(ErrorKind::kInput, "no symbol \"" + std::string(variable) + "\" in " + path_);
  std::lock_guard<std::mutex> g(impl_->lock);
  Dwarf_Die type;
  bool found = false;
  Dwarf_Die* cu = nullptr;
  Dwarf_Addr bias = 0;
  while (!found && (cu = dwfl_module_nextcu(impl_->mod, cu, &bias)) != nullptr)
    found = impl_->find_variable_type(cu, variable, &type);
  if (!found)
    return make_error(ErrorKind::kInput, "no DWARF for the struct type of variable \"" + std::string(variable) +
                                             "\" in " + path_);
  const char* type_name = dwarf_diename(&type);
  auto off = impl_->find_member(&type, member);
  if (!off)
    return make_error(ErrorKind::kInput, "variable \"" + std::string(variable) + "\" (struct " +
                                             (type_name != nullptr ? type_name : "<anonymous>") + ") has no member " +
                                             std::string(member) + " in " + path_);
  return *off;
}

}  // namespace racerig::dwarf
