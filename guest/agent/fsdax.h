// Putting the emulated NVDIMM's namespace into fsdax mode through sysfs,
// without ndctl: unbind the raw namespace from nd_pmem, configure the pfn
// seed device (uuid, mode "ram", namespace) and bind it to nd_pmem.
#pragma once

#include <string>

#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::agent {

struct NvdimmPaths {
  std::string sysfs = "/sys";        // a fake tree in tests
  std::string ns = "namespace0.0";
  std::string device = "/dev/pmem0";
};

// The namespace's mode as sysfs shows it (bus/nd/devices/<ns>/mode):
// "raw", "fsdax", "devdax", "sector". kIo naming the file if unreadable.
Result<std::string> namespace_mode(const NvdimmPaths& paths);

// Makes the namespace fsdax unless it already is (an image that held a pfn
// info block comes up in fsdax by itself). Returns what it did ("converted
// raw namespace0.0 to fsdax through pfn0.0" or "namespace0.0 was already
// fsdax"). Errors name the sysfs file, the value written and errno; a mode
// other than raw/fsdax is kInput.
Result<std::string> ensure_fsdax(const NvdimmPaths& paths);

// Waits, polling, until `path` exists; kTimeout naming it at the deadline.
Status wait_for_path(const std::string& path, Deadline deadline);

// A random version-4 UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string random_uuid();

}  // namespace racerig::agent
