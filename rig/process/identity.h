// Who runs kernel builds and QEMU. Only package installation needs root:
// started as root, racerig runs every build and every VM as the dedicated
// unprivileged user `racerig` (created by ./dev setup); started as an
// ordinary user (who owns the cache), it runs them as itself.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "rig/base/result.h"

namespace racerig::process {

constexpr char kSandboxUser[] = "racerig";

struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (e.g. kvm), from the group database
};

// The user that builds and VMs run as: nullopt when we are not root (they
// run as ourselves), else `racerig` from the user database. kIo naming the
// fix when we are root and that user does not exist, or is root itself.
Result<std::optional<Identity>> worker_identity();

// Looks a user up by name (kInput when unknown).
Result<Identity> lookup_user(const std::string& name);

// The uid that owns what builds and VMs write (ours, or the worker's).
uid_t worker_uid(const std::optional<Identity>& who);
gid_t worker_gid(const std::optional<Identity>& who);

}  // namespace racerig::process
