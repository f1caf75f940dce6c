// What the integration tests share: running racerig (or any shell command)
// and collecting its output, reading files, the shipped candidates and the
// kernel cache's root. RACERIG_BIN and RACERIG_SOURCE_DIR come from
// tests/CMakeLists.txt.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace racerig::test {

struct Ran {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string output;  // stdout + stderr
};

// Runs `cmd` through the shell and collects stdout + stderr.
inline Ran run_shell(const std::string& cmd) {
  Ran r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs the racerig under test on the checkout under test (also for a build
// dir outside it). `env`: extra "NAME=value" assignments, after RACERIG_ROOT
// so that they can override it.
inline Ran run_cli(const std::string& args, const std::string& env = "") {
  return run_shell("RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + env + " " + std::string(RACERIG_BIN) +
                   " " + args);
}

// The whole file, or "" when it cannot be read.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A shipped candidate fix of the 6.1 base, by file name.
inline std::string candidate(const std::string& file) {
  return std::string(RACERIG_SOURCE_DIR) + "/kernels/patches/candidates/" + file;
}

// The kernel cache's root (as rig/kbuild's default_cache_root picks it).
inline std::string cache_root() {
  const char* env = std::getenv("RACERIG_CACHE");
  if (env != nullptr && *env != '\0') return env;
  return ::geteuid() == 0 ? "/var/cache/racerig" : std::string(std::getenv("HOME")) + "/.cache/racerig";
}

}  // namespace racerig::test
