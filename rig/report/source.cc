// Kernel source lines for a page (see source.h).
#include "rig/report/source.h"

#include "rig/base/file.h"

namespace racerig::report {

namespace {

namespace fs = std::filesystem;

// The largest source file read.
constexpr size_t kMaxSourceBytes = size_t{16} << 20;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

}  // namespace

Result<std::vector<std::string>> read_source(const fs::path& root, const std::string& file) {
  if (root.empty()) return make_error(ErrorKind::kInput, "no source tree was given");
  fs::path rel(file);
  if (file.empty()) return make_error(ErrorKind::kInput, "no file name");
  if (rel.is_absolute()) {
    fs::path inside = rel.lexically_normal().lexically_relative(root.lexically_normal());
    if (inside.empty() || *inside.begin() == "..")
      return make_error(ErrorKind::kInput, "\"" + file + "\" is not inside the source tree " + root.string());
    rel = inside;
  }
  for (const fs::path& part : rel)
    if (part == "..") return make_error(ErrorKind::kInput, "\"" + file + "\" leaves the source tree");
  auto text = read_file(root / rel, "source", kMaxSourceBytes);
  if (!text.ok()) return text.error();
  return split_lines(*text);
}

}  // namespace racerig::report
