// newc cpio writer.
#include "guest/initramfs/cpio.h"

#include <sys/stat.h>

#include <cstdio>

namespace racerig::initramfs {

namespace {

void pad4(std::string* s) {
  while (s->size() % 4 != 0) s->push_back('\0');
}

}  // namespace

Result<std::string> CpioWriter::normalize(std::string_view path) const {
  std::string p(path);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p.empty()) return make_error(ErrorKind::kInput, "cpio: empty path \"" + std::string(path) + "\"");
  if (p.find('\0') != std::string::npos) return make_error(ErrorKind::kInput, "cpio: path with a NUL byte");
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t slash = p.find('/', pos);
    if (slash == std::string::npos) slash = p.size();
    std::string_view comp(p.data() + pos, slash - pos);
    if (comp.empty() || comp == "." || comp == "..")
      return make_error(ErrorKind::kInput, "cpio: path \"" + std::string(path) +
                                               "\" has an empty, \".\" or \"..\" component");
    pos = slash + 1;
  }
  return p;
}

Status CpioWriter::add_parents(const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (dirs_.insert(dir).second) entry(dir, S_IFDIR | 0755, 2, 0, 0, {});
  }
  return Status::Ok();
}

void CpioWriter::entry(const std::string& name, uint32_t mode, uint32_t nlink, uint32_t rdev_major,
                       uint32_t rdev_minor, std::string_view data) {
  char header[111];
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
  // rdevmajor, rdevminor, namesize (with the NUL), check.
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", next_ino_++, mode,
                0u, 0u, nlink, 0u, static_cast<uint32_t>(data.size()), 0u, 0u, rdev_major, rdev_minor,
                static_cast<uint32_t>(name.size() + 1), 0u);
  out_.append(header, 110);
  out_.append(name);
  out_.push_back('\0');
  pad4(&out_);
  out_.append(data);
  pad4(&out_);
}

Status CpioWriter::add_directory(std::string_view path, uint32_t mode) {
  RACERIG_ASSIGN(std::string p, normalize(path));
  RACERIG_TRY(add_parents(p));
  if (dirs_.insert(p).second) entry(p, S_IFDIR | (mode & 07777), 2, 0, 0, {});
  return Status::Ok();
}

Status CpioWriter::add_file(std::string_view path, std::string_view data, uint32_t mode) {
  RACERIG_ASSIGN(std::string p, normalize(path));
  if (data.size() > 0xffffffffu) return make_error(ErrorKind::kInput, "cpio: " + p + " is larger than 4 GiB");
  RACERIG_TRY(add_parents(p));
  entry(p, S_IFREG | (mode & 07777), 1, 0, 0, data);
  return Status::Ok();
}

Status CpioWriter::add_symlink(std::string_view path, std::string_view target) {
  RACERIG_ASSIGN(std::string p, normalize(path));
  if (target.empty()) return make_error(ErrorKind::kInput, "cpio: symlink " + p + " with an empty target");
  RACERIG_TRY(add_parents(p));
  entry(p, S_IFLNK | 0777, 1, 0, 0, target);
  return Status::Ok();
}

Status CpioWriter::add_char_device(std::string_view path, uint32_t major, uint32_t minor, uint32_t mode) {
  RACERIG_ASSIGN(std::string p, normalize(path));
  RACERIG_TRY(add_parents(p));
  entry(p, S_IFCHR | (mode & 07777), 1, major, minor, {});
  return Status::Ok();
}

std::string CpioWriter::finish() {
  entry("TRAILER!!!", 0, 1, 0, 0, {});
  std::string out = std::move(out_);
  out_.clear();
  dirs_.clear();
  next_ino_ = 1;
  return out;
}

}  // namespace racerig::initramfs
