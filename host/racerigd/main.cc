// racerigd: the racerig CI service. Serves racerig.pb.RaceRig over gRPC on a
// UNIX socket (and TCP with --listen), with server reflection and the
// standard health service; jobs, events and reports live in SQLite under
// --state, or in PostgreSQL (--store postgresql://...) shared by frontends
// (--workers 0: the API, no runs) and workers (--worker: runs, no API) on
// many hosts. SIGINT/SIGTERM stop it cleanly: running jobs go back to the
// queue. A SIGKILL loses nothing either: the next start (SQLite) or the
// job's expired lease (PostgreSQL) requeues them.
// Its state is private (0700 directories, 0600 files, made so explicitly) and its
// own: a second racerigd on the same --state refuses to start (a lock).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/client/connection.h"
#include "host/client/keepalive.h"
#include "host/client/socket_path.h"
#include "host/racerigd/http_face.h"
#include "host/racerigd/service_adapter.h"
#include "host/racerigd/socket_access.h"
#include "host/racerigd/tls.h"
#include "host/version.h"
#include "rig/jobs/job_env.h"
#include "rig/jobs/kernels.h"
#include "rig/report/kernel_source.h"
#include "rig/run/backend.h"
#include "rig/service/auth.h"
#include "rig/service/authenticator.h"
#include "rig/service/identities.h"
#include "rig/service/catalog.h"
#include "rig/service/job_service.h"
#include "rig/service/kernel_affinity.h"
#include "rig/service/local_runner.h"
#include "rig/service/open_store.h"
#include "rig/service/state_lock.h"
#include "rig/service/worker_pool.h"

namespace racerig::racerigd {

// /var/lib/racerigd as root, else ~/.local/state/racerigd.
std::string default_state_dir();

namespace {

constexpr int kMaxAttempts = 3;
// vCPUs of a scenario's VM when it does not say (scenario::machine_cpus'
// minimum): what the default worker count is sized for.
constexpr int kDefaultVcpusPerVm = 2;

struct DaemonOptions {
  std::string socket;  // empty: client::default_socket_path()
  std::string socket_mode, socket_group;  // empty mode: 0600, or 0660 with a group
  std::string listen, tokens, tls_cert, tls_key, state = default_state_dir();
  std::string http;  // --http HOST:PORT: the web pages (same authentication and TLS as --listen)
  std::string tls_client_ca, client_identities;  // mutual TLS: the clients' CA and the CNs it may name
  bool insecure_plaintext = false;  // --insecure-plaintext: tokens over TCP without TLS
  int workers = service::WorkerPool::default_workers(kDefaultVcpusPerVm);
  int max_queued = 64;
  int max_scenario_cpus = 8, max_scenario_memory_mb = 4096, max_scenario_deadline_s = 600;  // inline scenarios
  int max_queued_per_submitter = 20;
  int max_running_per_submitter = 0;  // 0: workers - 1 when workers > 1, else none
  int job_deadline_h = 4;  // --job-deadline-h: a job running longer is cancelled
  int keep_days = 30;      // --keep-days: ended jobs older are deleted (0: never)
  host::BackendArgs backend;     // --backend/--libvirt-uri: how every job's VMs start
  std::string restore = "auto";  // --restore: how runs restore the ready state
  std::string store;             // --store: empty (SQLite in --state) or a postgresql:// URI
  bool worker = false;           // --worker: run jobs of the shared store, serve no API
  int lease_s = 30;              // --lease-s: a claim's lease without renewal
  int affinity_wait_s = 10;      // --affinity-wait-s: a job waits this long for a worker holding its kernels
};

int fail(const std::string& what) {
  std::fprintf(stderr, "racerigd: %s\n", what.c_str());
  return 2;
}

// The start-up line's words on who may call and see which jobs.
std::string who_line(const service::TokenTable* tokens, const service::ClientIdentities* identities) {
  if (tokens == nullptr && identities == nullptr) return ", no tokens: every caller is \"local\" and sees every job";
  std::string out;
  if (tokens != nullptr)
    out += ", tokens (" + std::to_string(tokens->size()) + " name(s), " + std::to_string(tokens->admins()) +
           " admin(s))";
  if (identities != nullptr)
    out += ", client certificates (" + std::to_string(identities->size()) + " CN(s), " +
           std::to_string(identities->admins()) + " admin(s))";
  if (tokens == nullptr) out += ", the UNIX socket's callers \"local\"";
  return out + "; callers see their own jobs";
}

// --worker: runs the shared store's jobs until SIGINT/SIGTERM (blocked in
// `stop_signals`), then stops the pool (its running jobs go back to the queue).
int run_worker(service::WorkerPool& pool, const sigset_t& stop_signals, const std::string& store, int workers) {
  pool.start();
  std::fprintf(stderr, "racerigd: worker %s running jobs of %s (%d at once; no API)\n", pool.owner_prefix().c_str(),
               store.c_str(), workers);
  int sig = 0;
  while (sig <= 0) sig = sigwaitinfo(&stop_signals, nullptr);
  std::fprintf(stderr, "racerigd: %s: stopping (running jobs go back to the queue)\n", strsignal(sig));
  pool.stop();
  return 0;
}

}  // namespace

int serve(const DaemonOptions& args) {
  run::RunOptions run_options;
  run_options.vms = 1;  // an exploring job takes one VM at a time: --workers is the daemon's parallelism
  // Every job runs on the daemon's backend (a job request does not choose it).
  if (Status s = host::apply_vm_args(args.backend, args.restore, run_options); !s.ok()) return fail(s.error().message);
  if (args.worker && (!args.listen.empty() || !args.http.empty()))
    return fail("--worker serves no API: --listen and --http are for a frontend (racerigd --store ... --workers 0)");
  if (args.tls_cert.empty() != args.tls_key.empty()) return fail("--tls-cert and --tls-key go together");
  if (!args.tls_cert.empty() && args.listen.empty() && args.http.empty())
    return fail("--tls-cert is for --listen and --http (TCP)");
  if (!args.tls_client_ca.empty() && args.tls_cert.empty())
    return fail("--tls-client-ca needs --tls-cert and --tls-key (client certificates are asked for over TLS)");
  if (args.tls_client_ca.empty() != args.client_identities.empty())
    return fail("--tls-client-ca and --client-identities go together (the CA says a certificate is genuine, the "
                "identities file which subject CNs may call, and which are admins)");

  std::unique_ptr<service::TokenTable> tokens;
  if (!args.tokens.empty()) {
    auto t = service::TokenTable::load(args.tokens);
    if (!t.ok()) return fail(t.error().message);
    tokens = std::make_unique<service::TokenTable>(std::move(*t));
  }
  std::unique_ptr<service::ClientIdentities> identities;
  if (!args.client_identities.empty()) {
    auto t = service::ClientIdentities::load(args.client_identities);
    if (!t.ok()) return fail(t.error().message);
    identities = std::make_unique<service::ClientIdentities>(std::move(*t));
  }
  auto auth = service::Authenticator::make(tokens.get(), identities.get());
  if (!auth.ok()) return fail(auth.error().message);
  if (!args.listen.empty() && !tokens && !identities)
    return fail("--listen " + args.listen +
                " without --tokens or --tls-client-ca: refusing to serve TCP without authentication");
  if (!args.http.empty() && !tokens && !identities)
    return fail("--http " + args.http +
                " without --tokens or --tls-client-ca: refusing to serve the job pages without authentication");
  if (!args.http.empty() && args.tls_cert.empty() && !args.insecure_plaintext)
    return fail("--http " + args.http +
                " without --tls-cert: the callers' tokens would cross the network in clear text; refusing "
                "(give --tls-cert and --tls-key, or --insecure-plaintext on a network you trust)");
  if (!args.listen.empty() && args.tls_cert.empty() && !args.insecure_plaintext)
    return fail("--listen " + args.listen +
                " without --tls-cert: the callers' tokens would cross the network in clear text; refusing "
                "(give --tls-cert and --tls-key, or --insecure-plaintext on a network you trust)");

  // The socket: where (never a directory others could write), who may connect.
  std::string socket = args.socket;
  if (socket.empty()) {
    auto d = client::default_socket_path();
    if (!d.ok()) return fail(d.error().message);
    socket = *d;
  }
  auto socket_mode = parse_socket_mode(args.socket_mode.empty() ? (args.socket_group.empty() ? "0600" : "0660")
                                                                 : args.socket_mode);
  if (!socket_mode.ok()) return fail(socket_mode.error().message);
  gid_t socket_gid = static_cast<gid_t>(-1);
  if (!args.socket_group.empty()) {
    auto g = group_id(args.socket_group);
    if (!g.ok()) return fail(g.error().message);
    socket_gid = *g;
  }
  if (Status s = client::check_socket_dir(socket, ::geteuid()); !s.ok()) return fail(s.error().message);

  const std::filesystem::path state = args.state;
  std::error_code ec;
  std::filesystem::create_directories(state / "jobs", ec);
  if (ec) return fail("creating the state directory " + state.string() + ": " + ec.message());
  // Private whatever an older racerigd or the umask left: patches of
  // embargoed fixes and the job database live here.
  for (const auto& dir : {state, state / "jobs"}) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
    if (ec) return fail("chmod 700 " + dir.string() + ": " + ec.message());
  }
  // Signals are taken by sigwait below: blocked before any thread
  // starts (the PostgreSQL store's listener is one).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Held until we exit; taken before the store is touched (recover() would
  // requeue the running daemon's jobs) and before the socket is replaced.
  auto lock = service::StateLock::acquire(state);
  if (!lock.ok()) return fail(lock.error().message);
  auto opened = service::open_store(args.store, state / "racerigd.db");
  if (!opened.ok()) return fail(opened.error().message);
  if (!opened->shared && (args.worker || args.workers == 0))
    return fail(std::string(args.worker ? "--worker" : "--workers 0") +
                " needs a shared --store (postgresql://...): with SQLite in --state nothing else would " +
                (args.worker ? "serve its jobs" : "run the jobs"));
  service::Store& store = *opened->store;
  if (!opened->shared) {
    // This daemon is the store's one user (the state lock): whatever is
    // RUNNING was its own, killed. A shared store's orphans wait for their
    // leases to expire (the pool requeues them).
    auto requeued = store.recover(kMaxAttempts);
    if (!requeued.ok()) return fail(requeued.error().message);
    if (*requeued > 0) std::fprintf(stderr, "racerigd: %d interrupted job(s) queued again\n", *requeued);
  }

  jobs::JobEnv env = jobs::default_env(host::repo_root());
  env.catalogue_only = true;  // scenario names are scenarios/'s, never files in our working directory
  env.racerig_version = host::racerig_version();
  env.qemu_version = host::qemu_version(run_options.qemu);
  run_options.work_dir = env.work_dir;
  run_options.logs_dir = env.cache_root / "logs" / "runs";
  service::Catalog catalog(env);
  service::LocalRunner runner(env, state / "jobs", run_options);
  service::WorkerPool pool(store, runner, args.workers);
  pool.set_job_deadline(std::chrono::hours(args.job_deadline_h));
  pool.set_lease(std::chrono::seconds(args.lease_s));
  pool.set_max_attempts(kMaxAttempts);
  pool.set_worker_info(run::backend_label(run_options), [root = env.cache_root] { return service::held_kernels(root); });
  pool.set_affinity_wait(std::chrono::seconds(args.affinity_wait_s));
  pool.set_max_running_per_submitter(args.max_running_per_submitter > 0 ? args.max_running_per_submitter
                                     : args.workers > 1                 ? args.workers - 1
                                                                        : 0);
  service::ServiceOptions options;
  options.max_queued = args.max_queued;
  options.max_queued_per_submitter = args.max_queued_per_submitter;
  options.jobs_dir = state / "jobs";
  options.kept_logs_root = run_options.logs_dir;
  options.limits.vcpus = run_options.cpus;
  options.limits.max_cpus = args.max_scenario_cpus;
  options.limits.max_memory_mb = args.max_scenario_memory_mb;
  options.limits.max_deadline_s = args.max_scenario_deadline_s;
  // Affinity: the keys of the kernels each submitted job needs, from this
  // host's kernels/ and packages (none when its cache cannot be opened). A
  // SQLite store has one racerigd's workers only: nothing to prefer.
  std::shared_ptr<kbuild::Cache> keys;
  if (!args.worker && opened->shared) {
    if (auto c = kbuild::Cache::open(env.kernels_dir(), env.cache_root); c.ok())
      keys = std::make_shared<kbuild::Cache>(std::move(*c));
    else
      std::fprintf(stderr, "racerigd: jobs get no kernel affinity: %s\n", c.error().message.c_str());
  }
  if (keys) options.kernel_needs = [keys](const pb::Job& job) { return service::kernel_needs(*keys, job); };
  service::JobService core(store, pool, catalog, options);
  RaceRigService adapter(core, *auth);

  if (args.worker) {
    // A worker restarted after a kill -9 removes the run directories (and
    // QEMU) its killed predecessor left on this host before it takes a job
    // (opening the kernel cache does).
    if (auto cache = jobs::open_cache(env); !cache.ok())
      std::fprintf(stderr, "racerigd: the kernel cache: %s\n", cache.error().message.c_str());
    return run_worker(pool, stop_signals, opened->description, args.workers);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (const auto dir = std::filesystem::path(socket).parent_path(); !dir.empty() && !std::filesystem::exists(dir)) {
    // Ours, and reachable: the socket's own mode says who may connect.
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("creating the socket's directory " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms(0755), std::filesystem::perm_options::replace, ec);
  }
  std::filesystem::remove(socket, ec);  // a stale socket of a killed daemon
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  int tcp_port = 0;  // the port bound (for --listen HOST:0)
  if (!args.listen.empty()) {
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (!args.tls_cert.empty()) {
      auto tls = tls_server_credentials({args.tls_cert, args.tls_key, args.tls_client_ca});
      if (!tls.ok()) return fail(tls.error().message);
      creds = *tls;
    }
    builder.AddListeningPort(args.listen, creds, &tcp_port);
  }
  builder.RegisterService(&adapter);
  client::set_server_keepalive(builder);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.limits.max_patches * options.limits.max_patch_bytes + (1 << 20)));
  // The socket is bound under umask 077 (owner only), then opened up to
  // its mode. Only here: a process-wide 077 would also make libvirt's
  // embedded root (the domains' master keys) unreadable to QEMU's user;
  // the daemon's own state gets explicit modes instead.
  const mode_t old_umask = ::umask(077);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(old_umask);
  if (!server) return fail("cannot listen on " + socket + (args.listen.empty() ? "" : " or " + args.listen));
  // Made under umask 077 (owner only) and opened up here: never wider in between.
  if (Status s = set_socket_access(socket, *socket_mode, socket_gid); !s.ok()) {
    server->Shutdown();
    return fail(s.error().message);
  }
  // The web pages: the same core and authentication as the API.
  HttpFace http(core, *auth, [&env](const std::string& variant) {
    return report::kernel_source(env.kernels_dir(), env.cache_root, variant);
  });
  int http_port = 0;
  if (!args.http.empty()) {
    auto port = http.start(args.http, HttpTls{args.tls_cert, args.tls_key, args.tls_client_ca});
    if (!port.ok()) {
      server->Shutdown();
      return fail(port.error().message);
    }
    http_port = *port;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  server->GetHealthCheckService()->SetServingStatus("racerig.pb.RaceRig", true);
  pool.start();
  std::fprintf(stderr, "racerigd: serving on unix:%s%s (%d worker(s), backend %s, state %s, store %s%s)\n", socket.c_str(),
               args.listen.empty() ? ""
                                   : (" and " + args.listen + " (port " + std::to_string(tcp_port) + ", " +
                                      (args.tls_cert.empty()        ? "no TLS"
                                       : args.tls_client_ca.empty() ? "TLS"
                                                                    : "mutual TLS") +
                                      ")")
                                         .c_str(),
               args.workers, run::backend_label(run_options).c_str(), state.c_str(), opened->description.c_str(),
               who_line(tokens.get(), identities.get()).c_str());
  if (!args.http.empty())
    std::fprintf(stderr, "racerigd: web pages on %s://%s (port %d)\n", args.tls_cert.empty() ? "http" : "https",
                 args.http.c_str(), http_port);

  // Retention: ended jobs past --keep-days go now and once a day.
  auto expire = [&] {
    if (args.keep_days <= 0) return;
    auto n = core.expire(std::chrono::hours(24) * args.keep_days);
    if (!n.ok())
      std::fprintf(stderr, "racerigd: deleting old jobs: %s\n", n.error().message.c_str());
    else if (*n > 0)
      std::fprintf(stderr, "racerigd: deleted %d job(s) ended more than %d day(s) ago\n", *n, args.keep_days);
  };
  int sig = 0;
  for (;;) {
    expire();
    const timespec day{24 * 60 * 60, 0};
    sig = sigtimedwait(&stop_signals, nullptr, &day);
    if (sig > 0) break;
  }
  std::fprintf(stderr, "racerigd: %s: stopping (running jobs go back to the queue)\n", strsignal(sig));
  server->GetHealthCheckService()->SetServingStatus(false);
  http.stop();
  pool.stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::filesystem::remove(socket, ec);
  return 0;
}

std::string default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/racerigd";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/racerigd";
  return "/tmp/racerigd-state-" + std::to_string(::geteuid());
}

}  // namespace racerig::racerigd

int main(int argc, char** argv) {
  using racerig::racerigd::DaemonOptions;
  DaemonOptions o;
  CLI::App app("racerigd: the racerig CI service. Serves racerig.pb.RaceRig over gRPC (with server reflection and\n"
               "grpc.health.v1); jobs, events and reports live in SQLite under --state.",
               "racerigd");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--socket", o.socket,
                 "the UNIX socket to serve on (default: $XDG_RUNTIME_DIR/racerigd.sock, as root "
                 "/run/racerigd/racerigd.sock; never a directory others may write)")
      ->type_name("PATH");
  app.add_option("--socket-mode", o.socket_mode,
                 "the socket's mode, octal (default 0600, or 0660 with --socket-group): who may connect; without "
                 "--tokens every caller there is an admin")
      ->type_name("MODE");
  app.add_option("--socket-group", o.socket_group, "the socket's group (members connect with --socket-mode 0660)")
      ->type_name("NAME");
  app.add_option("--listen", o.listen,
                 "also serve on TCP (needs --tokens or --tls-client-ca, and --tls-cert unless --insecure-plaintext)")
      ->type_name("HOST:PORT");
  app.add_flag("--insecure-plaintext", o.insecure_plaintext,
               "allow --listen without TLS: tokens cross the network in clear text (a trusted network only)");
  app.add_option("--http", o.http,
                 "also serve the job pages over HTTP on HOST:PORT (port 0: any free one): the job list, each "
                 "job's page (live while it runs), artifact downloads; the same tokens (and TLS with --tls-cert) "
                 "as --listen")
      ->type_name("HOST:PORT");
  app.add_option("--tokens", o.tokens,
                 "bearer tokens: one \"NAME TOKEN\" or \"NAME TOKEN admin\" per line, '#' starts a comment; "
                 "a caller sees its own jobs, an admin everyone's")
      ->type_name("FILE");
  app.add_option("--tls-cert", o.tls_cert, "TLS certificate (PEM) for --listen")->type_name("FILE");
  app.add_option("--tls-key", o.tls_key, "TLS private key (PEM) for --listen")->type_name("FILE");
  app.add_option("--tls-client-ca", o.tls_client_ca,
                 "mutual TLS: ask --listen's clients for a certificate and verify it against these PEM roots; a "
                 "verified certificate's subject CN is the caller (needs --client-identities)")
      ->type_name("FILE");
  app.add_option("--client-identities", o.client_identities,
                 "the client certificate CNs that may call: one \"CN\" or \"CN admin\" per line, '#' starts a "
                 "comment (with --tls-client-ca)")
      ->type_name("FILE");
  app.add_option("--state", o.state, "the job database and the jobs' files")->type_name("DIR")->capture_default_str();
  racerig::host::add_zero_or_count_option(app, "--workers", o.workers,
                                          "jobs run at once (default: cores / vCPUs per VM); 0 with a shared "
                                          "--store: serve the API, run nothing (a frontend)");
  app.add_option("--store", o.store,
                 "the job store: a PostgreSQL URI (postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full), "
                 "shared by frontends and workers on many hosts; default: SQLite in --state")
      ->type_name("DSN");
  app.add_flag("--worker", o.worker,
               "run jobs of the shared --store (--workers at once), serve no API: a worker host");
  racerig::host::add_count_option(app, "--lease-s", o.lease_s,
                                  "seconds a claimed job stays this worker's without a renewal (renewed every "
                                  "third of it); a dead worker's jobs are queued again after it");
  racerig::host::add_zero_or_count_option(app, "--affinity-wait-s", o.affinity_wait_s,
                                          "seconds a queued job waits for a live worker whose kernel cache holds "
                                          "its kernels and has a free slot, before any worker takes it (0: never)");
  racerig::host::add_count_option(app, "--max-queued", o.max_queued,
                                  "queued jobs before submits get RESOURCE_EXHAUSTED");
  racerig::host::add_count_option(app, "--max-queued-per-submitter", o.max_queued_per_submitter,
                                  "queued jobs of one submitter before its submits get RESOURCE_EXHAUSTED");
  app.add_option("--max-running-per-submitter", o.max_running_per_submitter,
                 "jobs of one submitter run at once (default: --workers - 1 when there are several, so one "
                 "submitter cannot take every worker)")
      ->type_name("N")
      ->check(racerig::host::positive_int());
  racerig::host::add_count_option(app, "--max-scenario-cpus", o.max_scenario_cpus,
                                  "an inline scenario's machine.cpus at most (INVALID_ARGUMENT past it)");
  racerig::host::add_count_option(app, "--max-scenario-memory-mb", o.max_scenario_memory_mb,
                                  "an inline scenario's machine.memory_mb at most");
  racerig::host::add_count_option(app, "--max-scenario-deadline-s", o.max_scenario_deadline_s,
                                  "an inline scenario's deadlines (boot_s, step_s, finish_s) at most, each");
  racerig::host::add_count_option(app, "--job-deadline-h", o.job_deadline_h,
                                  "hours a job may run (per attempt) before it is cancelled, saying so");
  racerig::host::add_zero_or_count_option(app, "--keep-days", o.keep_days,
                                          "delete ended jobs (records, events, files, kept run logs) this many days "
                                          "after they ended, at start and daily; 0: keep them");
  racerig::host::add_backend_options(app, o.backend);
  racerig::host::add_restore_option(app, o.restore);
  app.footer("SIGINT/SIGTERM stop it; running jobs go back to the queue. Exit: 0 stopped, 2 bad options or set-up.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return racerig::racerigd::serve(o);
}
