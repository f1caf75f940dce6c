// libvirt URIs, transient domains, the sweeper (see connection.h).
#include "rig/libvirt/connection.h"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "rig/base/file.h"
#include "rig/kbuild/cache.h"
#include "rig/libvirt/error.h"
#include "rig/libvirt/root_holder.h"
#include "rig/process/cancel.h"

namespace racerig::libvirt {

namespace fs = std::filesystem;

namespace {

constexpr char kEmbedPrefix[] = "qemu:///embed?root=";
constexpr char kConfHeader[] = "# Written by racerig for libvirt's embedded driver (qemu:///embed).\n";

std::string with_uri(const Connection& conn, const std::string& what) { return what + " (libvirt " + conn.uri() + ")"; }

}  // namespace

std::optional<fs::path> embed_root_of(const std::string& uri) {
  const std::string prefix = kEmbedPrefix;
  if (uri.rfind(prefix, 0) != 0) return std::nullopt;
  std::string root = uri.substr(prefix.size());
  const size_t amp = root.find('&');
  if (amp != std::string::npos) root.resize(amp);
  if (root.empty()) return std::nullopt;
  return fs::path(root);
}

std::string default_uri(const fs::path& cache_root) { return kEmbedPrefix + (cache_root / "libvirt").string(); }

std::string embed_qemu_conf() {
  return std::string(kConfHeader) +
         "# QEMU's stdio goes to a file: the default, virtlogd, is a daemon.\n"
         "stdio_handler = \"file\"\n"
         "# libvirt's capability probe runs as this user. As libvirt-qemu it sees\n"
         "# /dev/kvm (mode 0600 here) as unusable after a probe that used KVM, so\n"
         "# it probes again on every lookup (about a minute per domain start).\n"
         "# racerig's domains do not run as root: each names libvirt-qemu in a\n"
         "# static DAC <seclabel>.\n"
         "user = \"root\"\n"
         "group = \"root\"\n";
}

Status prepare_embed_root(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root / "etc", ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + (root / "etc").string() + ": " + ec.message());
  const fs::path conf = root / "etc" / "qemu.conf";
  const std::string text = read_file(conf).value_or("");
  const std::string want = embed_qemu_conf();
  if (text == want) return Status::Ok();
  const bool ours = text.empty() || text.rfind(kConfHeader, 0) == 0;
  if (!ours) {
    // An operator's own file: used as it is, if the embedded driver can work with it.
    if (text.find("stdio_handler = \"file\"") != std::string::npos) return Status::Ok();
    return make_error(ErrorKind::kInput, conf.string() + " exists but lacks stdio_handler = \"file\" (the embedded "
                                                         "driver would need virtlogd); add that line");
  }
  return write_file_atomic(conf, want);
}

namespace {

// libvirt's default event loop, run by one thread for the whole process:
// the embedded driver handles QEMU's monitor through it, and remote
// connections their keepalive.
Status start_event_loop() {
  static int result = [] {
    if (virEventRegisterDefaultImpl() != 0) return -1;
    std::thread([] {
      while (true) (void)virEventRunDefaultImpl();
    }).detach();
    return 0;
  }();
  if (result != 0) return last_error("starting libvirt's event loop");
  return Status::Ok();
}

}  // namespace

Result<Connection> open_uri(const std::string& uri, Deadline deadline, const WaitReporter& waiting) {
  const auto root = embed_root_of(uri);
  if (root) {
    RACERIG_TRY(prepare_embed_root(*root));
    // The embedded driver logs warnings (e.g. "tainted: custom-argv") to
    // stderr; they go to the root's log instead, unless the user chose.
    std::error_code ec;
    fs::create_directories(*root / "log", ec);
    ::setenv("LIBVIRT_LOG_OUTPUTS", ("3:file:" + (*root / "log" / "libvirt.log").string()).c_str(), 0);
  }
  quiet_libvirt_errors();
  RACERIG_TRY(start_event_loop());
  // Waited for before opening: a driver that failed to start on a held root
  // cannot be started again in this process.
  if (root) RACERIG_TRY(hold_embed_root(*root, deadline, waiting));
  virConnectPtr c = virConnectOpen(uri.c_str());
  if (c == nullptr) {
    Error e = last_error("opening libvirt " + uri);
    if (root && e.message.find("driver.pid") != std::string::npos) {
      // Taken between our wait and the open (a first use of the root).
      const auto holder = embed_root_holder(*root);
      e.message += " (the root is in use by " + (holder ? describe_holder(*holder) : "another process") +
                   "; one process at a time per root)";
    }
    return e;
  }
  Connection conn(c, uri);
  if (virConnectIsEncrypted(c) == 1 || !root) (void)virConnectSetKeepAlive(c, 5, 3);
  return conn;
}

Result<std::shared_ptr<Connection>> shared_connection(const std::string& uri, Deadline deadline,
                                                     const WaitReporter& waiting) {
  static std::map<std::string, std::shared_ptr<Connection>>* pool = new std::map<std::string, std::shared_ptr<Connection>>();
  // racerigd's workers start VMs on several threads: one opens (and sweeps)
  // a URI while the others wait for that connection.
  static std::mutex* mu = new std::mutex();
  std::lock_guard<std::mutex> lock(*mu);
  auto it = pool->find(uri);
  if (it != pool->end()) return it->second;
  RACERIG_ASSIGN(Connection conn, open_uri(uri, deadline, waiting));
  auto shared = std::make_shared<Connection>(std::move(conn));
  RACERIG_TRY(sweep(*shared));
  (*pool)[uri] = shared;
  return shared;
}

Result<Domain> create_transient(const Connection& conn, const std::string& xml, const std::string& name, bool paused) {
  virDomainPtr d = virDomainCreateXML(conn.get(), xml.c_str(), paused ? VIR_DOMAIN_START_PAUSED : 0);
  if (d == nullptr) return last_error(with_uri(conn, "starting domain " + name));
  return Domain(d, name);
}

Status destroy(const Connection& conn, const Domain& dom) {
  if (!dom.valid()) return Status::Ok();
  if (virDomainDestroy(dom.get()) == 0) return Status::Ok();
  Error e = last_error(with_uri(conn, "destroying domain " + dom.name()));
  // Gone already (it powered off, or another path destroyed it).
  if (virDomainIsActive(dom.get()) != 1) {
    virResetLastError();
    return Status::Ok();
  }
  return e;
}

bool is_active(const Domain& dom) {
  if (!dom.valid()) return false;
  const bool active = virDomainIsActive(dom.get()) == 1;
  virResetLastError();
  return active;
}

Result<std::vector<std::string>> racerig_domains(const Connection& conn) {
  virDomainPtr* list = nullptr;
  int n = virConnectListAllDomains(conn.get(), &list, 0);
  if (n < 0) return last_error(with_uri(conn, "listing domains"));
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    Domain d(list[i], "");
    const char* name = virDomainGetName(d.get());
    if (name != nullptr && std::string(name).rfind(kDomainPrefix, 0) == 0) names.emplace_back(name);
  }
  free(list);  // NOLINT: libvirt's array is malloc'd
  return names;
}

Result<std::vector<std::string>> sweep(const Connection& conn) {
  RACERIG_ASSIGN(std::vector<std::string> names, racerig_domains(conn));
  std::vector<std::string> removed;
  for (const std::string& name : names) {
    Domain d(virDomainLookupByName(conn.get(), name.c_str()), name);
    if (!d.valid()) {  // gone meanwhile
      virResetLastError();
      continue;
    }
    std::optional<OwnerTag> tag;
    if (char* meta = virDomainGetMetadata(d.get(), VIR_DOMAIN_METADATA_ELEMENT, kOwnerNamespace, 0)) {
      auto parsed = parse_owner_element(meta);
      free(meta);  // NOLINT: libvirt's string is malloc'd
      if (parsed.ok()) tag = *parsed;
    } else {
      virResetLastError();
    }
    const bool active = is_active(d);
    if (tag ? owner_alive(*tag) : active) continue;  // an untagged running domain is not ours to judge
    if (active) RACERIG_TRY(destroy(conn, d));
    if (virDomainIsPersistent(d.get()) == 1 && virDomainUndefine(d.get()) != 0)
      return last_error(with_uri(conn, "undefining domain " + name));
    virResetLastError();
    if (tag && !tag->run_dir.empty() && fs::path(tag->run_dir).filename().string().rfind("racerig-", 0) == 0) {
      std::error_code ec;
      fs::remove_all(tag->run_dir, ec);
    }
    forget_run(default_run_registry(), name);
    removed.push_back(name);
  }
  // Run dirs of dead owners whose domains are gone already (their guests
  // powered off after the owner died).
  (void)sweep_run_records(default_run_registry());
  return removed;
}

namespace {

bool is_racerig_run_dir(const fs::path& dir) { return dir.filename().string().rfind("racerig-run-", 0) == 0; }

}  // namespace

std::filesystem::path default_run_registry() { return kbuild::default_cache_root() / "libvirt-runs"; }

Status record_run(const fs::path& registry, const std::string& domain, const OwnerTag& tag) {
  std::error_code ec;
  fs::create_directories(registry, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + registry.string() + ": " + ec.message());
  return write_file(registry / domain, owner_element(tag));
}

void forget_run(const fs::path& registry, const std::string& domain) {
  std::error_code ec;
  fs::remove(registry / domain, ec);
}

std::vector<std::string> sweep_run_records(const fs::path& registry) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(registry, ec)) {
    auto tag = parse_owner_element(read_file(entry.path()).value_or(""));
    if (tag.ok() && owner_alive(*tag)) continue;
    if (tag.ok() && !tag->run_dir.empty() && is_racerig_run_dir(tag->run_dir)) {
      std::error_code rm;
      fs::remove_all(tag->run_dir, rm);
    }
    std::error_code rm;
    fs::remove(entry.path(), rm);
    removed.push_back(entry.path().filename().string());
  }
  return removed;
}

Result<std::string> hmp(const Connection& conn, const Domain& dom, const std::string& command) {
  char* out = nullptr;
  if (virDomainQemuMonitorCommand(dom.get(), command.c_str(), &out, VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) != 0)
    return last_error(with_uri(conn, "HMP '" + command + "' on domain " + dom.name()));
  std::string text = out != nullptr ? out : "";
  free(out);  // NOLINT: libvirt's string is malloc'd
  return text;
}

}  // namespace racerig::libvirt
