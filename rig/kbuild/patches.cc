// Patch classification, splitting and application (see patches.h).
#include "rig/kbuild/patches.h"

#include <algorithm>
#include <sstream>

#include "rig/base/file.h"

namespace racerig::kbuild {

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// An mbox message starts with "From <sha or address> <date>".
bool is_mbox_separator(const std::string& line) {
  return starts_with(line, "From ") && line.find(' ', 5) != std::string::npos && line.find(':') != std::string::npos;
}

}  // namespace

const char* patch_kind_name(PatchKind kind) {
  switch (kind) {
    case PatchKind::kFormatPatch: return "git format-patch";
    case PatchKind::kMbox: return "mbox";
    case PatchKind::kPlainDiff: return "unified diff";
  }
  return "?";
}

Result<PatchFile> parse_patch(const std::filesystem::path& name, const std::string& content) {
  PatchFile out;
  out.path = name;
  out.content = content;
  if (content.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorKind::kInput, "patch " + name.string() + " is empty");
  size_t check = std::min<size_t>(content.size(), 65536);
  for (size_t i = 0; i < check; ++i) {
    unsigned char c = static_cast<unsigned char>(content[i]);
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b))
      return make_error(ErrorKind::kInput, "patch " + name.string() + " is a binary file, not a text diff (byte " +
                                               std::to_string(i) + " is 0x" +
                                               [&] { char b[4]; snprintf(b, sizeof b, "%02x", c); return std::string(b); }() + ")");
  }
  std::vector<std::string> parts;
  std::string current;
  int messages = 0;
  for (const std::string& line : lines_of(content)) {
    if (is_mbox_separator(line)) {
      if (!current.empty() && current.find("\n+++ ") != std::string::npos) parts.push_back(current);
      current.clear();
      ++messages;
    }
    current += line + "\n";
  }
  if (!current.empty()) parts.push_back(current);
  // Keep only parts that carry a diff.
  std::vector<std::string> diffs;
  for (auto& p : parts)
    if (p.find("\n--- ") != std::string::npos && p.find("\n+++ ") != std::string::npos &&
        p.find("\n@@ ") != std::string::npos)
      diffs.push_back(p);
  if (diffs.empty() && starts_with(content, "--- ") && content.find("\n@@ ") != std::string::npos)
    diffs.push_back(content);
  if (diffs.empty())
    return make_error(ErrorKind::kInput, "patch " + name.string() +
                                             " has no unified diff in it (expected \"--- a/...\", \"+++ b/...\" and "
                                             "\"@@\" hunk lines)");
  out.parts = std::move(diffs);
  out.kind = messages == 0 ? PatchKind::kPlainDiff : messages == 1 ? PatchKind::kFormatPatch : PatchKind::kMbox;
  return out;
}

Result<PatchFile> read_patch(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return make_error(ErrorKind::kInput, "patch " + path.string() + " does not exist");
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(ErrorKind::kInput, "patch " + path.string() + " is not a regular file");
  constexpr uintmax_t kMaxPatch = 16u << 20;
  if (auto size = std::filesystem::file_size(path, ec); !ec && size > kMaxPatch)
    return make_error(ErrorKind::kInput, "patch " + path.string() + " has " + std::to_string(size) +
                                             " bytes; patches over 16 MiB are refused");
  auto text = read_file(path, kMaxPatch);
  if (!text.ok()) return make_error(ErrorKind::kInput, "cannot read patch " + path.string());
  return parse_patch(path, *text);
}

std::optional<std::vector<std::string>> touched_paths(const PatchFile& patch) {
  std::vector<std::string> out;
  for (const std::string& part : patch.parts)
    for (std::string line : lines_of(part)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string path;
      if (starts_with(line, "--- ") || starts_with(line, "+++ ")) {
        path = line.substr(4, line.find('\t') == std::string::npos ? std::string::npos : line.find('\t') - 4);
        if (path == "/dev/null") continue;
        const size_t slash = path.find('/');  // -p1
        if (slash == std::string::npos) return std::nullopt;
        path = path.substr(slash + 1);
      } else if (starts_with(line, "rename from ") || starts_with(line, "copy from ")) {
        path = line.substr(line.find(" from ") + 6);
      } else {
        continue;
      }
      if (path.empty() || path.front() == '/' || path.front() == '"') return std::nullopt;
      for (size_t at = 0; at <= path.size();) {
        const size_t end = std::min(path.find('/', at), path.size());
        if (path.compare(at, end - at, "..") == 0 && end - at == 2) return std::nullopt;
        at = end + 1;
      }
      if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
    }
  return out;
}

std::string hunk_failure_lines(const std::string& output) {
  std::string out;
  for (const std::string& line : lines_of(output)) {
    if (line.find("FAILED") != std::string::npos || line.find("patch failed") != std::string::npos ||
        line.find("does not apply") != std::string::npos || line.find("No such file") != std::string::npos ||
        line.find("can't find file") != std::string::npos || line.find("does not exist in index") != std::string::npos ||
        line.find("corrupt patch") != std::string::npos || line.find("malformed") != std::string::npos ||
        line.find("Reversed (or previously applied)") != std::string::npos || starts_with(line, "checking file") ||
        starts_with(line, "error:"))
      out += "    " + line + "\n";
  }
  return out;
}

Status apply_patch(const PatchFile& patch, const TreeRunner& run) {
  for (size_t i = 0; i < patch.parts.size(); ++i) {
    const std::string& part = patch.parts[i];
    std::string which = patch.path.string() +
                        (patch.parts.size() > 1 ? " (patch " + std::to_string(i + 1) + " of " +
                                                      std::to_string(patch.parts.size()) + ")"
                                                : "");
    RACERIG_ASSIGN(ToolRun c, run({"git", "apply", "--check", "-p1", "-"}, part));
    if (c.code != 0) {
      // patch(1) names each failing hunk with its line ("Hunk #2 FAILED at 1234").
      auto d = run({"patch", "-p1", "--dry-run", "-N", "-f"}, part);
      std::string detail = hunk_failure_lines(c.output + (d.ok() ? d->output : ""));
      return make_error(ErrorKind::kBuild, "patch " + which + " does not apply to the kernel tree:\n" + detail);
    }
    RACERIG_ASSIGN(ToolRun a, run({"git", "apply", "-p1", "-"}, part));
    if (a.code != 0)
      return make_error(ErrorKind::kBuild, "patch " + which + " does not apply:\n" + hunk_failure_lines(a.output));
  }
  return Status::Ok();
}

}  // namespace racerig::kbuild
