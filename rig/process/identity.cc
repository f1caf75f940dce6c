// The unprivileged identity of builds and VMs (see identity.h).
#include "rig/process/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace racerig::process {

Result<Identity> lookup_user(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return make_error(ErrorKind::kInput, "there is no user \"" + name + "\" in the user database");
  Identity id;
  id.name = name;
  id.uid = pw.pw_uid;
  id.gid = pw.pw_gid;
  int n = 32;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (::getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (::getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &n) < 0) n = 0;
  }
  groups.resize(static_cast<size_t>(std::max(n, 0)));
  id.groups = std::move(groups);
  return id;
}

Result<std::optional<Identity>> worker_identity() {
  if (::geteuid() != 0) return std::optional<Identity>();
  auto id = lookup_user(kSandboxUser);
  if (!id.ok())
    return make_error(ErrorKind::kIo, std::string("racerig runs as root, and then builds kernels and runs QEMU as "
                                                  "the unprivileged user \"") +
                                          kSandboxUser + "\", which does not exist: run ./dev setup (it creates it) "
                                          "or: useradd --system --user-group --no-create-home racerig");
  if (id->uid == 0 || id->gid == 0)
    return make_error(ErrorKind::kIo, std::string("the user \"") + kSandboxUser +
                                          "\" has uid or gid 0; builds and VMs must not run as root");
  return std::optional<Identity>(std::move(*id));
}

uid_t worker_uid(const std::optional<Identity>& who) { return who ? who->uid : ::geteuid(); }
gid_t worker_gid(const std::optional<Identity>& who) { return who ? who->gid : ::getegid(); }

}  // namespace racerig::process
