// One daemon per state directory: an flock on STATE/racerigd.lock, held for
// the process's life, with the holder's pid written in the file so that a
// second daemon's refusal can name it.
#pragma once

#include <filesystem>
#include <string>

#include "rig/base/result.h"

namespace racerig::service {

class StateLock {
 public:
  // The lock file's name inside the state directory.
  static constexpr const char* kFileName = "racerigd.lock";

  // Takes the lock of `state_dir` (which must exist) without waiting and
  // writes our pid into the lock file (mode 0600). kIo when another process
  // (or another StateLock in this one) holds it: the message names the
  // directory and the holder's pid, as the file says.
  static Result<StateLock> acquire(const std::filesystem::path& state_dir);

  StateLock(StateLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  StateLock& operator=(StateLock&&) = delete;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  // Releases the lock (the file stays: its next holder rewrites it).
  ~StateLock();

  const std::filesystem::path& path() const { return path_; }

 private:
  StateLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
};

}  // namespace racerig::service
