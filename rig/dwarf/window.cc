// Symbols::window (see symbols.h): the statement addresses of a set of
// kernel functions (their out-of-line and inlined copies) and file:line
// ranges, each named by its innermost function, file and line, for
// `racerig explore`.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include "rig/dwarf/symbols.h"
#include "rig/dwarf/symbols_impl.h"

namespace racerig::dwarf {

namespace {

// A "file:first-last" window range.
struct LineRange {
  std::string spec;
  std::string file;  // normalized path suffix
  uint32_t first = 0;
  uint32_t last = 0;
  std::set<std::string> files;  // the distinct files it matched
  size_t addresses = 0;
};

// A window function and what the scan found of it.
struct Function {
  std::string name;
  bool in_dwarf = false;  // a defining DW_TAG_subprogram has this name
  bool has_code = false;  // a copy of it has an address range
  size_t addresses = 0;
};

struct Span {
  Dwarf_Addr lo = 0;
  Dwarf_Addr hi = 0;  // exclusive
  size_t function = 0;
};

// Lexically normalized path: no "." or empty components, "a/.." folded.
std::string normalize(std::string_view path) {
  std::vector<std::string_view> parts;
  const bool absolute = !path.empty() && path.front() == '/';
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(i, slash - i);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = slash + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  return out;
}

// `path` as the window names it: normalized, relative to `comp_dir` when under it.
std::string display_path(const char* path, const std::string& comp_dir) {
  std::string p = normalize(path);
  if (!comp_dir.empty() && p.size() > comp_dir.size() + 1 && p.compare(0, comp_dir.size(), comp_dir) == 0 &&
      p[comp_dir.size()] == '/')
    return p.substr(comp_dir.size() + 1);
  return p;
}

// Whether `want` (normalized) names `file` (normalized): equal, or a suffix of it at a '/'.
bool names_file(const std::string& file, const std::string& want) {
  if (want.empty() || file.size() < want.size()) return false;
  if (file.compare(file.size() - want.size(), want.size(), want) != 0) return false;
  return file.size() == want.size() || want.front() == '/' || file[file.size() - want.size() - 1] == '/';
}

bool parse_line(std::string_view text, uint32_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out > 0;
}

Result<LineRange> parse_range(const std::string& spec) {
  LineRange r;
  r.spec = spec;
  const size_t colon = spec.rfind(':');
  const size_t dash = colon == std::string::npos ? std::string::npos : spec.find('-', colon);
  if (colon == std::string::npos || colon == 0 || dash == std::string::npos ||
      !parse_line(std::string_view(spec).substr(colon + 1, dash - colon - 1), &r.first) ||
      !parse_line(std::string_view(spec).substr(dash + 1), &r.last))
    return make_error(ErrorKind::kInput, "window range \"" + spec + "\": expected file:first-last with line numbers");
  if (r.first > r.last)
    return make_error(ErrorKind::kInput, "window range \"" + spec + "\": the first line " + std::to_string(r.first) +
                                             " is after the last " + std::to_string(r.last));
  r.file = normalize(spec.substr(0, colon));
  if (r.file.empty() || r.file == "/")
    return make_error(ErrorKind::kInput, "window range \"" + spec + "\": no file name before the colon");
  return r;
}

// Appends the address ranges of `die` (a subprogram or an inlined copy) to `spans`.
void add_spans(Dwarf_Die* die, size_t function, std::vector<Span>* spans) {
  Dwarf_Addr base = 0, lo = 0, hi = 0;
  ptrdiff_t off = 0;
  while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
    if (hi > lo) spans->push_back(Span{lo, hi, function});
  }
}

struct InlineVisit {
  size_t function;
  std::vector<Span>* spans;
};

int add_inline_instance(Dwarf_Die* instance, void* arg) {
  auto* v = static_cast<InlineVisit*>(arg);
  add_spans(instance, v->function, v->spans);
  return DWARF_CB_OK;
}

// The address ranges of every copy in `cu` of the functions of `index`:
// in C every subprogram DIE (abstract, concrete or out-of-line) is a child
// of the CU, and an inlined copy refers to the abstract DIE of its own CU.
// Marks the functions found in `fns`.
void collect_spans(Dwarf_Die* cu, const std::unordered_map<std::string_view, size_t>& index,
                   std::vector<Function>* fns, std::vector<Span>* spans) {
  Dwarf_Die child;
  if (dwarf_child(cu, &child) != 0) return;
  do {
    if (dwarf_tag(&child) != DW_TAG_subprogram || dwarf_hasattr(&child, DW_AT_declaration)) continue;
    const char* name = die_name(&child);
    if (name == nullptr) continue;
    auto it = index.find(name);
    if (it == index.end()) continue;
    (*fns)[it->second].in_dwarf = true;
    add_spans(&child, it->second, spans);
    if (dwarf_func_inline(&child) != 0) {
      InlineVisit visit{it->second, spans};
      dwarf_func_inline_instances(&child, add_inline_instance, &visit);
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  for (const Span& s : *spans) (*fns)[s.function].has_code = true;
}

// Each statement address of a line table and the is_stmt rows that start
// there, in table order (end_sequence rows are not statements).
std::map<Dwarf_Addr, std::vector<Dwarf_Line*>> statement_rows(Dwarf_Lines* lines, size_t nlines) {
  std::map<Dwarf_Addr, std::vector<Dwarf_Line*>> rows;
  for (size_t i = 0; i < nlines; ++i) {
    Dwarf_Line* l = dwarf_onesrcline(lines, i);
    bool stmt = false, end = false;
    Dwarf_Addr a = 0;
    if (l == nullptr || dwarf_linebeginstatement(l, &stmt) != 0 || dwarf_lineendsequence(l, &end) != 0 ||
        dwarf_lineaddr(l, &a) != 0 || !stmt || end)
      continue;
    rows[a].push_back(l);
  }
  return rows;
}

// Name of the innermost function (inlined or not) whose code is at `pc` in `cu`.
std::string innermost_function(Dwarf_Die* cu, Dwarf_Addr pc) {
  Dwarf_Die* scopes = nullptr;
  const int n = dwarf_getscopes(cu, pc, &scopes);
  std::string out;
  for (int i = 0; i < n && out.empty(); ++i) {
    const int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
    if (const char* name = die_name(&scopes[i])) out = name;
  }
  free(scopes);
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", \"" : "\"") + names[i] + "\"";
  return out;
}

}  // namespace

Result<std::vector<WindowAddress>> Symbols::window(const std::vector<std::string>& functions,
                                                   const std::vector<std::string>& line_ranges) const {
  std::vector<LineRange> ranges;
  for (const std::string& spec : line_ranges) {
    RACERIG_ASSIGN(LineRange r, parse_range(spec));
    ranges.push_back(std::move(r));
  }
  std::vector<Function> fns;
  std::unordered_map<std::string_view, size_t> fn_index;
  for (const std::string& name : functions) {
    if (name.empty()) return make_error(ErrorKind::kInput, "window function: empty name");
    if (std::none_of(fns.begin(), fns.end(), [&](const Function& f) { return f.name == name; }))
      fns.push_back(Function{name});
  }
  for (size_t i = 0; i < fns.size(); ++i) fn_index.emplace(fns[i].name, i);

  std::lock_guard<std::mutex> g(impl_->lock);
  std::vector<WindowAddress> out;
  Dwarf_Die* cu = nullptr;
  Dwarf_Addr bias = 0;
  while ((cu = dwfl_module_nextcu(impl_->mod, cu, &bias)) != nullptr) {
    std::vector<Span> spans;
    if (!fn_index.empty()) collect_spans(cu, fn_index, &fns, &spans);

    Dwarf_Attribute attr;
    const char* comp_dir_raw = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    const std::string comp_dir = comp_dir_raw != nullptr ? normalize(comp_dir_raw) : "";
    // Display paths of this CU's files, by the name pointer libdw returns.
    std::unordered_map<const char*, std::string> paths;
    auto path_of = [&](const char* raw) -> const std::string& {
      auto [it, inserted] = paths.try_emplace(raw);
      if (inserted && raw != nullptr) it->second = display_path(raw, comp_dir);
      return it->second;
    };
    bool cu_has_range_file = false;
    if (!ranges.empty()) {
      Dwarf_Files* files = nullptr;
      size_t nfiles = 0;
      if (dwarf_getsrcfiles(cu, &files, &nfiles) == 0) {
        for (size_t i = 0; i < nfiles; ++i) {
          const char* raw = dwarf_filesrc(files, i, nullptr, nullptr);
          if (raw == nullptr) continue;
          const std::string path = display_path(raw, comp_dir);
          for (LineRange& r : ranges) {
            if (names_file(normalize(raw), r.file) || names_file(path, r.file)) {
              r.files.insert(path);
              cu_has_range_file = true;
            }
          }
        }
      }
    }
    if (spans.empty() && !cu_has_range_file) continue;

    Dwarf_Lines* lines = nullptr;
    size_t nlines = 0;
    if (dwarf_getsrclines(cu, &lines, &nlines) != 0) continue;
    const std::map<Dwarf_Addr, std::vector<Dwarf_Line*>> rows = statement_rows(lines, nlines);
    for (const auto& [a, starting] : rows) {
      std::vector<SourceLine> statements;
      for (Dwarf_Line* l : starting) {
        int lineno = 0;
        dwarf_lineno(l, &lineno);
        SourceLine s{path_of(dwarf_linesrc(l, nullptr, nullptr)), static_cast<uint32_t>(lineno)};
        if (std::find(statements.begin(), statements.end(), s) == statements.end()) statements.push_back(std::move(s));
      }
      bool in_window = false;
      for (const Span& s : spans) {
        if (a >= s.lo && a < s.hi) {
          ++fns[s.function].addresses;
          in_window = true;
        }
      }
      for (LineRange& r : ranges) {
        const bool in_range = std::any_of(statements.begin(), statements.end(), [&](const SourceLine& s) {
          return s.line >= r.first && s.line <= r.last && r.files.count(s.file) != 0;
        });
        if (in_range) {
          ++r.addresses;
          in_window = true;
        }
      }
      if (!in_window) continue;
      WindowAddress w;
      w.addr = GuestAddr(a + bias);
      w.function = innermost_function(cu, a);
      if (w.function.empty()) {
        const char* sym = dwfl_module_addrname(impl_->mod, a + bias);
        if (sym != nullptr) w.function = sym;
      }
      w.file = statements.back().file;
      w.line = statements.back().line;
      w.statements = std::move(statements);
      out.push_back(std::move(w));
    }
  }

  for (const Function& f : fns) {
    if (!f.in_dwarf) {
      std::string msg = "window function \"" + f.name + "\": no such function in the DWARF of " + path_;
      if (impl_->by_name.count(f.name) != 0) {
        msg += " (the symbol table has it, but no DWARF subprogram defines it: assembly, or not a function)";
      } else if (auto near = suggest(f.name); !near.empty()) {
        msg += "; did you mean " + quoted_list(near) + "?";
      }
      return make_error(ErrorKind::kInput, msg);
    }
    if (!f.has_code)
      return make_error(ErrorKind::kInput, "window function \"" + f.name + "\" has no code in " + path_ +
                                               " (no out-of-line copy and no inlined copy)");
    if (f.addresses == 0)
      return make_error(ErrorKind::kInput, "window function \"" + f.name + "\" has no statement addresses in the line table of " + path_);
  }
  for (const LineRange& r : ranges) {
    if (r.files.empty())
      return make_error(ErrorKind::kInput, "window range \"" + r.spec + "\": no file " + r.file + " in the line tables of " + path_);
    if (r.files.size() > 1)
      return make_error(ErrorKind::kInput, "window range \"" + r.spec + "\" is ambiguous: " +
                                               quoted_list(std::vector<std::string>(r.files.begin(), r.files.end())) +
                                               "; give more of the path");
    if (r.addresses == 0)
      return make_error(ErrorKind::kInput, "window range \"" + r.spec + "\": no statement of " + *r.files.begin() +
                                               " lines " + std::to_string(r.first) + "-" + std::to_string(r.last) +
                                               " has code in " + path_);
  }
  std::sort(out.begin(), out.end(), [](const WindowAddress& a, const WindowAddress& b) { return a.addr < b.addr; });
  out.erase(std::unique(out.begin(), out.end(), [](const WindowAddress& a, const WindowAddress& b) { return a.addr == b.addr; }),
            out.end());
  return out;
}

}  // namespace racerig::dwarf
