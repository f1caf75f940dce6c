// fsdax through sysfs.
#include "guest/agent/fsdax.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"

namespace racerig::agent {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// A sysfs attribute's value without its trailing newline.
Result<std::string> read_text(const std::string& path) {
  RACERIG_ASSIGN(std::string text, read_file(path));
  return trim(std::move(text));
}

Status write_text(const std::string& path, const std::string& value) {
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path + " to write \"" + value + "\"");
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return errno_error("writing \"" + value + "\" to " + path);
  if (static_cast<size_t>(n) != value.size())
    return make_error(ErrorKind::kIo, "writing \"" + value + "\" to " + path + ": short write (" + std::to_string(n) +
                                          " of " + std::to_string(value.size()) + " bytes)");
  return Status::Ok();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The region's current pfn seed (region<N>/pfn_seed), "pfn0.0" when the
// namespace's region cannot be found.
std::string pfn_seed(const NvdimmPaths& p) {
  std::string dev = p.sysfs + "/bus/nd/devices/" + p.ns;
  char real[PATH_MAX];
  if (::realpath(dev.c_str(), real) != nullptr) {
    std::string region(real);
    size_t slash = region.rfind('/');
    if (slash != std::string::npos) {
      auto seed = read_text(region.substr(0, slash) + "/pfn_seed");
      if (seed.ok() && !seed->empty()) return *seed;
    }
  }
  return "pfn0.0";
}

}  // namespace

std::string random_uuid() {
  unsigned char b[16] = {};
  if (::getrandom(b, sizeof b, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof b)) {
    // Early boot without entropy: uniqueness within one image is all we need.
    uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = 0; i < sizeof b; ++i) b[i] = static_cast<unsigned char>((t >> ((i % 8) * 8)) ^ (i * 37));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[40];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

Result<std::string> namespace_mode(const NvdimmPaths& paths) {
  RACERIG_ASSIGN(std::string mode, read_text(paths.sysfs + "/bus/nd/devices/" + paths.ns + "/mode"));
  // The kernel's names (drivers/nvdimm/namespace_devs.c mode_show) are older
  // than ndctl's: a namespace claimed by a pfn device reads "memory", which
  // is what ndctl and everyone else call fsdax.
  if (mode == "memory") return std::string("fsdax");
  if (mode == "dax") return std::string("devdax");
  if (mode == "safe") return std::string("sector");
  return mode;
}

Result<std::string> ensure_fsdax(const NvdimmPaths& p) {
  const std::string devices = p.sysfs + "/bus/nd/devices/";
  const std::string driver = p.sysfs + "/bus/nd/drivers/nd_pmem/";
  RACERIG_ASSIGN(std::string mode, namespace_mode(p));
  if (mode == "fsdax") return p.ns + " was already fsdax";
  if (mode != "raw")
    return make_error(ErrorKind::kInput, devices + p.ns + "/mode is \"" + mode + "\"; expected raw or fsdax");
  const std::string pfn = pfn_seed(p);
  if (exists(devices + p.ns + "/driver")) RACERIG_TRY(write_text(driver + "unbind", p.ns));
  RACERIG_TRY(write_text(devices + pfn + "/uuid", random_uuid()));
  RACERIG_TRY(write_text(devices + pfn + "/mode", "ram"));
  RACERIG_TRY(write_text(devices + pfn + "/namespace", p.ns));
  RACERIG_TRY(write_text(driver + "bind", pfn));
  RACERIG_ASSIGN(std::string after, namespace_mode(p));
  if (after != "fsdax")
    return make_error(ErrorKind::kIo, "bound " + pfn + " to nd_pmem but " + devices + p.ns + "/mode reads \"" + after +
                                          "\", expected fsdax");
  return "converted raw " + p.ns + " to fsdax through " + pfn;
}

Status wait_for_path(const std::string& path, Deadline deadline) {
  for (;;) {
    if (exists(path)) return Status::Ok();
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, path + " did not appear");
    struct timespec ts = {0, 10 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
}

}  // namespace racerig::agent
