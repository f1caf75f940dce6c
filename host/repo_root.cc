// Where the checkout's kernels/ and scenarios/ are (see commands.h).
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "host/commands.h"

namespace racerig::host {

std::string repo_root() {
  if (const char* env = std::getenv("RACERIG_ROOT"); env != nullptr && *env != '\0') return env;
  // build/bin/racerig -> the checkout is two levels up.
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::filesystem::path p(self);
    for (int up = 0; up < 4 && p.has_parent_path(); ++up) {
      p = p.parent_path();
      std::error_code ec;
      if (std::filesystem::exists(p / "kernels" / "variants.textproto", ec)) return p.string();
    }
  }
  return std::filesystem::current_path().string();
}

}  // namespace racerig::host
