// racerigd: the racerig CI service. Serves racerig.pb.RaceRig over gRPC on a
// UNIX socket (and TCP with --listen), with server reflection and the
// standard health service; jobs, events and reports live in SQLite under
// --state. SIGINT/SIGTERM stop it cleanly: running jobs go back to the
// queue. A SIGKILL loses nothing either: the next start requeues them.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/client/connection.h"
#include "host/racerigd/service_adapter.h"
#include "rig/jobs/job_env.h"
#include "rig/service/auth.h"
#include "rig/service/catalog.h"
#include "rig/service/job_service.h"
#include "rig/service/local_runner.h"
#include "rig/service/store.h"
#include "rig/service/worker_pool.h"

namespace racerig::racerigd {

// client::default_socket_path().
std::string default_socket();
// /var/lib/racerigd as root, else ~/.local/state/racerigd.
std::string default_state_dir();

namespace {

constexpr int kMaxAttempts = 3;

void usage(FILE* out) {
  std::fprintf(out,
               "usage: racerigd [--socket PATH] [--listen HOST:PORT --tokens FILE [--tls-cert F --tls-key F]]\n"
               "                [--tokens FILE] [--state DIR] [--workers N] [--max-queued N]\n"
               "  --socket PATH     UNIX socket (default: %s)\n"
               "  --listen H:P      also listen on TCP; needs --tokens\n"
               "  --tokens FILE     bearer tokens, one \"NAME TOKEN\" per line ('#' comments)\n"
               "  --state DIR       the job database and job files (default: %s)\n"
               "  --workers N       jobs at once (default: cores / vCPUs per VM = %d)\n"
               "  --max-queued N    queued jobs before submits get RESOURCE_EXHAUSTED (default 64)\n",
               default_socket().c_str(), default_state_dir().c_str(), service::WorkerPool::default_workers(2));
}

std::string read_text(const std::string& path, bool* ok) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return s.str();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "racerigd: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main_impl(const host::Args& raw) {
  auto parsed = host::parse_args(raw, {"socket", "listen", "tokens", "tls-cert", "tls-key", "state", "workers", "max-queued"},
                                 {"help"});
  if (!parsed.ok()) {
    usage(stderr);
    return fail(parsed.error().message);
  }
  const host::ParsedArgs& args = *parsed;
  if (args.has("help")) {
    usage(stdout);
    return 0;
  }
  if (!args.positional.empty()) return fail("unexpected argument \"" + args.positional[0] + "\"");
  run::RunOptions run_options;
  auto workers = args.positive_int("workers", service::WorkerPool::default_workers(run_options.cpus));
  auto max_queued = args.positive_int("max-queued", 64);
  for (auto* r : {&workers, &max_queued})
    if (!r->ok()) return fail(r->error().message);
  if (args.get("tls-cert").has_value() != args.get("tls-key").has_value())
    return fail("--tls-cert and --tls-key go together");
  if (args.get("tls-cert") && !args.get("listen")) return fail("--tls-cert is for --listen (TCP)");

  std::unique_ptr<service::TokenTable> tokens;
  if (auto file = args.get("tokens")) {
    auto t = service::TokenTable::load(*file);
    if (!t.ok()) return fail(t.error().message);
    tokens = std::make_unique<service::TokenTable>(std::move(*t));
  }
  if (args.get("listen") && !tokens)
    return fail("--listen " + *args.get("listen") + " without --tokens: refusing to serve TCP without authentication");

  const std::filesystem::path state = args.get("state").value_or(default_state_dir());
  std::error_code ec;
  std::filesystem::create_directories(state / "jobs", ec);
  if (ec) return fail("creating the state directory " + state.string() + ": " + ec.message());
  auto store = service::Store::open(state / "racerigd.db");
  if (!store.ok()) return fail(store.error().message);
  auto requeued = (*store)->recover(kMaxAttempts);
  if (!requeued.ok()) return fail(requeued.error().message);
  if (*requeued > 0) std::fprintf(stderr, "racerigd: %d interrupted job(s) queued again\n", *requeued);

  jobs::JobEnv env = jobs::default_env(host::repo_root());
  run_options.work_dir = env.work_dir;
  service::Catalog catalog(env);
  service::LocalRunner runner(env, state / "jobs", run_options);
  service::WorkerPool pool(**store, runner, *workers);
  service::ServiceOptions options;
  options.max_queued = *max_queued;
  options.limits.vcpus = run_options.cpus;
  service::JobService core(**store, pool, catalog, options);
  RaceRigService adapter(core, tokens.get());

  // Signals are taken by sigwait below: blocked before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string socket = args.get("socket").value_or(default_socket());
  std::filesystem::create_directories(std::filesystem::path(socket).parent_path(), ec);
  std::filesystem::remove(socket, ec);  // a stale socket of a killed daemon
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  int tcp_port = 0;  // the port bound (for --listen HOST:0)
  if (auto listen = args.get("listen")) {
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (auto cert = args.get("tls-cert")) {
      bool ok_cert = false, ok_key = false;
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({read_text(*args.get("tls-key"), &ok_key), read_text(*cert, &ok_cert)});
      if (!ok_cert || !ok_key) return fail("reading --tls-cert/--tls-key");
      creds = grpc::SslServerCredentials(ssl);
    }
    builder.AddListeningPort(*listen, creds, &tcp_port);
  }
  builder.RegisterService(&adapter);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.limits.max_patches * options.limits.max_patch_bytes + (1 << 20)));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return fail("cannot listen on " + socket + (args.get("listen") ? " or " + *args.get("listen") : ""));
  server->GetHealthCheckService()->SetServingStatus(true);
  server->GetHealthCheckService()->SetServingStatus("racerig.pb.RaceRig", true);
  pool.start();
  std::fprintf(stderr, "racerigd: serving on unix:%s%s (%d worker(s), state %s%s)\n", socket.c_str(),
               args.get("listen") ? (" and " + *args.get("listen") + " (port " + std::to_string(tcp_port) + ", " +
                                     (args.get("tls-cert") ? "TLS" : "no TLS") + ")")
                                        .c_str()
                                  : "",
               *workers, state.c_str(), tokens ? ", tokens required" : "");

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "racerigd: %s: stopping (running jobs go back to the queue)\n", strsignal(sig));
  server->GetHealthCheckService()->SetServingStatus(false);
  pool.stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::filesystem::remove(socket, ec);
  return 0;
}

std::string default_socket() { return client::default_socket_path(); }

std::string default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/racerigd";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/racerigd";
  return "/tmp/racerigd-state-" + std::to_string(::geteuid());
}

}  // namespace racerig::racerigd

int main(int argc, char** argv) { return racerig::racerigd::main_impl(racerig::host::Args(argv + 1, argv + argc)); }
