// A VM's configuration: its checks and its NVDIMM image (see vm_config.h).
#include "rig/machine/vm_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <system_error>

#include "rig/base/scoped_fd.h"
#include "rig/machine/sparse_copy.h"

namespace racerig::machine {

namespace fs = std::filesystem;

Status check_config(const VmConfig& cfg) {
  if (cfg.cpus < 1 || cfg.cpus > 64)
    return make_error(ErrorKind::kInput, "impossible vCPU count " + std::to_string(cfg.cpus));
  if (!cfg.firmware_only) {
    for (const fs::path& p : {cfg.bzimage, cfg.initrd}) {
      std::error_code ec;
      if (p.empty() || !fs::is_regular_file(p, ec))
        return make_error(ErrorKind::kInput, "QEMU needs " +
                                                 (p.empty() ? std::string("a kernel and an initrd") : p.string()) +
                                                 ", which does not exist");
    }
  }
  if (cfg.pmem_file.empty() && !cfg.pmem_template.empty()) {
    std::error_code ec;
    const auto size = fs::file_size(cfg.pmem_template, ec);
    if (ec) return make_error(ErrorKind::kInput, "NVDIMM template " + cfg.pmem_template.string() + ": " + ec.message());
    if (size != static_cast<uintmax_t>(cfg.pmem_mb) << 20)
      return make_error(ErrorKind::kInput, "NVDIMM template " + cfg.pmem_template.string() + " has " +
                                               std::to_string(size) + " bytes, expected " +
                                               std::to_string(static_cast<uintmax_t>(cfg.pmem_mb) << 20));
  }
  if (cfg.disk_mb < 0 || cfg.disk_mb > 65536)
    return make_error(ErrorKind::kInput, "impossible disk size " + std::to_string(cfg.disk_mb) + " MiB");
  if (!cfg.disk_template.empty()) {
    std::error_code ec;
    if (cfg.disk_mb == 0)
      return make_error(ErrorKind::kInput, "a disk template (" + cfg.disk_template.string() + ") but no disk");
    if (!fs::is_regular_file(cfg.disk_template, ec))
      return make_error(ErrorKind::kInput, "disk template " + cfg.disk_template.string() + " is not a file");
  }
  return Status::Ok();
}

std::vector<std::string> disk_create_argv(const VmConfig& cfg, const fs::path& img) {
  if (cfg.disk_mb == 0 || !cfg.disk_template.empty()) return {};
  return {cfg.qemu_img, "create", "-q", "-f", "qcow2", img.string(), std::to_string(cfg.disk_mb) + "M"};
}

Status make_pmem_image(const VmConfig& cfg, const fs::path& img) {
  if (!cfg.pmem_template.empty()) return copy_sparse(cfg.pmem_template, img);
  ScopedFd fd(::open(img.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error("creating " + img.string());
  if (::ftruncate(fd.get(), static_cast<off_t>(cfg.pmem_mb) << 20) != 0) return errno_error("sizing " + img.string());
  return Status::Ok();
}

}  // namespace racerig::machine
