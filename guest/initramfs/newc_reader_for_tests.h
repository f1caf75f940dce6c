// A newc reader for the tests: walks concatenated archives the way the
// kernel does (zero padding between them is skipped) and returns entries.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace racerig::initramfs::testing {

struct NewcEntry {
  std::string name;
  uint32_t mode = 0;
  uint32_t rdev_major = 0, rdev_minor = 0;
  std::string data;
};

inline uint32_t hex8(const std::string& s, size_t at) { return static_cast<uint32_t>(std::strtoul(s.substr(at, 8).c_str(), nullptr, 16)); }

// nullopt on any malformation.
inline std::optional<std::vector<NewcEntry>> read_newc(const std::string& a) {
  std::vector<NewcEntry> out;
  size_t pos = 0;
  auto align = [](size_t v) { return (v + 3) & ~size_t{3}; };
  while (pos < a.size()) {
    if (a[pos] == '\0') {  // padding between archives
      ++pos;
      continue;
    }
    if (pos % 4 != 0 || a.size() - pos < 110 || a.compare(pos, 6, "070701") != 0) return std::nullopt;
    std::string h = a.substr(pos, 110);
    NewcEntry e;
    e.mode = hex8(h, 14);
    uint32_t filesize = hex8(h, 54);
    e.rdev_major = hex8(h, 78);
    e.rdev_minor = hex8(h, 86);
    uint32_t namesize = hex8(h, 94);
    if (namesize == 0 || a.size() - pos - 110 < namesize) return std::nullopt;
    e.name = a.substr(pos + 110, namesize - 1);
    size_t data_at = align(pos + 110 + namesize);
    if (data_at + filesize > a.size()) return std::nullopt;
    e.data = a.substr(data_at, filesize);
    pos = align(data_at + filesize);
    out.push_back(std::move(e));
  }
  return out;
}

inline const NewcEntry* find_entry(const std::vector<NewcEntry>& entries, const std::string& name) {
  const NewcEntry* found = nullptr;
  for (const auto& e : entries)
    if (e.name == name) found = &e;  // later archives win, like in the kernel
  return found;
}

}  // namespace racerig::initramfs::testing
