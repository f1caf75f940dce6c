// Talking to a libvirt URI: opening it (the embedded driver's root is
// prepared first), transient racerig domains (create, destroy, list), the
// sweeper for domains whose racerig died, and QEMU monitor passthrough.
//
// libvirt's calls block without a deadline of ours: local calls are bounded
// by libvirt itself (a QEMU monitor job waits at most 30 s), remote ones by
// the keepalive set in open_uri (a dead peer fails the call in ~20 s).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/libvirt/handles.h"
#include "rig/libvirt/owner.h"

namespace racerig::libvirt {

// The embedded driver's root named by `uri` ("qemu:///embed?root=DIR"), or
// nullopt for any other URI.
std::optional<std::filesystem::path> embed_root_of(const std::string& uri);

// "qemu:///embed?root=<cache_root>/libvirt": racerig's default URI.
std::string default_uri(const std::filesystem::path& cache_root);

// The etc/qemu.conf racerig writes into an embedded root: QEMU's stdio to a
// file (the default wants virtlogd, a daemon), and the capability probe as
// root (see the file's comments).
std::string embed_qemu_conf();

// Makes the embedded root (and etc/) and writes etc/qemu.conf when it is
// missing or an older version of racerig's own. An operator's own file is
// kept if it has stdio_handler = "file", else kInput names it. kIo names
// the file that could not be written.
Status prepare_embed_root(const std::filesystem::path& root);

// Called once when a wait starts, with a line saying for what and for whom.
using WaitReporter = std::function<void(const std::string&)>;

// Opens `uri` (preparing an embedded root first). An embedded root is held
// by one process at a time: while another process holds it, this says so
// once through `waiting` (naming the holder's pid and command line) and
// waits until `deadline` (kTimeout naming the root and the holder) or a
// cancel (kCancelled). Remote URIs get a keepalive.
Result<Connection> open_uri(const std::string& uri, Deadline deadline, const WaitReporter& waiting = {});

// One connection per URI for the whole process (an embedded driver can be
// started once per process; reopening costs a capability probe). The first
// call for a URI sweeps it (see sweep). Thread-safe (racerigd's workers):
// concurrent first calls wait for one open.
Result<std::shared_ptr<Connection>> shared_connection(const std::string& uri, Deadline deadline,
                                                     const WaitReporter& waiting = {});

// Starts a transient domain from `xml` (gone once destroyed or shut down);
// `paused`: its vCPUs wait (QEMU's -S). kIo quotes libvirt (and through it
// QEMU's stderr) and names the URI.
Result<Domain> create_transient(const Connection& conn, const std::string& xml, const std::string& name, bool paused);

// Destroys a domain (kills its QEMU). A domain already gone is success.
Status destroy(const Connection& conn, const Domain& dom);

// Whether the domain still runs (false once it is gone).
bool is_active(const Domain& dom);

// Names of the domains (active or defined) whose names start with
// kDomainPrefix.
Result<std::vector<std::string>> racerig_domains(const Connection& conn);

// Sweeps: destroys (and undefines) every racerig domain whose owner tag names
// a dead process of this host, or that has no readable tag and is not
// running, and removes its run dir and run record; then sweeps the run
// records of default_run_registry(). Returns the domain names it removed.
Result<std::vector<std::string>> sweep(const Connection& conn);

// Records of racerig's run dirs on this host, one file per domain in
// `registry` (its owner element), written before the domain starts and
// removed at its end: a domain whose guest powered off after its racerig was
// killed is gone from libvirt, and its run dir is found here instead.
Status record_run(const std::filesystem::path& registry, const std::string& domain, const OwnerTag& tag);
void forget_run(const std::filesystem::path& registry, const std::string& domain);
// Removes the run dirs (and records) of owners that are gone; unreadable
// records are removed too. Returns the domain names whose records went.
std::vector<std::string> sweep_run_records(const std::filesystem::path& registry);
// Where LibvirtVm keeps those records: <cache root>/libvirt-runs.
std::filesystem::path default_run_registry();

// An HMP command through libvirt's QEMU monitor passthrough; returns QEMU's
// text answer.
Result<std::string> hmp(const Connection& conn, const Domain& dom, const std::string& command);

}  // namespace racerig::libvirt
