// CLI helpers (see cli_util.h).
#include "host/cli_util.h"
#include "rig/base/file.h"
#include "rig/process/cancel.h"
#include "rig/run/backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <cstdio>
#include <cstdlib>

#include <google/protobuf/util/json_util.h>

namespace racerig::host {

const CLI::Validator& positive_int() {
  static const CLI::Validator v(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        long n = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno != 0 || n < 1 || n > 100000)
          return "wants a number from 1 to 100000, got \"" + text + "\"";
        return {};
      },
      "1..100000", "positive_int");
  return v;
}

CLI::Option* add_count_option(CLI::App& app, const std::string& name, int& target, const std::string& description) {
  return app.add_option(name, target, description)->type_name("N")->check(positive_int())->capture_default_str();
}

CLI::Option* add_zero_or_count_option(CLI::App& app, const std::string& name, int& target,
                                      const std::string& description) {
  return app.add_option(name, target, description)->type_name("N")->check(CLI::NonNegativeNumber)->capture_default_str();
}

CLI::Option* add_json_option(CLI::App& app, std::string& target, const std::string& what) {
  return app.add_option("--json", target,
                        "write " + what + " as JSON to FILE (\"-\": stdout, and everything else to stderr)")
      ->type_name("FILE");
}

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

void progress_line(const std::string& line) {
  std::fprintf(stderr, "racerig: %s\n", line.c_str());
  std::fflush(stderr);
}

namespace {
int json_stdout = -1;  // the original stdout once reserve_stdout_for_json() ran
}  // namespace

Status reserve_stdout_for_json() {
  if (json_stdout >= 0) return Status::Ok();
  std::fflush(stdout);
  int saved = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (saved < 0) return errno_error("keeping stdout for the JSON report (dup)");
  if (::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    Error e = errno_error("sending other output to stderr (dup2)");
    ::close(saved);
    return e;
  }
  json_stdout = saved;
  return Status::Ok();
}

Status write_json(const google::protobuf::Message& message, const std::string& path) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;  // "reproduced": 0 is an answer, not a missing field
  auto st = google::protobuf::util::MessageToJsonString(message, &json, opts);
  if (!st.ok()) return make_error(ErrorKind::kInternal, "JSON conversion: " + std::string(st.message()));
  if (path == "-") {
    if (json_stdout < 0) {
      std::fwrite(json.data(), 1, json.size(), stdout);
      std::fflush(stdout);
      return Status::Ok();
    }
    for (std::string_view rest = json; !rest.empty();) {
      ssize_t n = ::write(json_stdout, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errno_error("writing the JSON report to stdout");
      rest.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }
  return write_file(path, json);
}

void add_backend_options(CLI::App& app, BackendArgs& into) {
  app.add_option("--backend", into.backend, "what starts QEMU: qemu (directly, the default) or libvirt (transient domains)")
      ->type_name("qemu|libvirt");  // checked by apply_backend_args (exit 2 naming the value)
  app.add_option("--libvirt-uri", into.libvirt_uri,
                 "libvirt's URI, implies --backend libvirt (default: qemu:///embed?root=<cache>/libvirt)")
      ->type_name("URI");
}

Status apply_backend_args(const BackendArgs& args, run::RunOptions& options) {
  if (!args.backend.empty()) {
    RACERIG_ASSIGN(options.backend, machine::parse_backend(args.backend));
  }
  if (!args.libvirt_uri.empty()) {
    if (options.backend != machine::Backend::kLibvirt && !args.backend.empty())
      return make_error(ErrorKind::kInput, "--libvirt-uri goes with --backend libvirt, not --backend " + args.backend);
    options.backend = machine::Backend::kLibvirt;
    options.libvirt_uri = args.libvirt_uri;
  }
  return Status::Ok();
}

void add_restore_option(CLI::App& app, std::string& into) {
  app.add_option("--restore", into,
                 "restore the ready state by incoming (cached snapshot, copy-on-write), loadvm, or auto")
      ->type_name("METHOD")
      ->capture_default_str();
}

Status apply_vm_args(const BackendArgs& backend, const std::string& restore, run::RunOptions& options) {
  RACERIG_TRY(apply_backend_args(backend, options));
  RACERIG_ASSIGN(options.restore, run::parse_restore(restore));
  return Status::Ok();
}

Status check_no_vm_args_for_server(const BackendArgs& backend, const std::string& restore) {
  if (!backend.backend.empty() || !backend.libvirt_uri.empty() || restore != "auto")
    return make_error(ErrorKind::kInput,
                      "--backend, --libvirt-uri and --restore are for local runs, not --server (racerigd's own "
                      "--backend, --libvirt-uri and --restore choose how its runs boot)");
  return Status::Ok();
}

int exit_code_for(const Error& error) { return error.kind == ErrorKind::kInput ? kExitUsage : kExitInfra; }

int report_error(const std::string& context, const Error& error) {
  std::fprintf(stderr, "racerig: %s: %s\n", context.c_str(), error.message.c_str());
  return exit_code_for(error);
}

int finish_runs(const pb::ReproduceReport& all, const std::string& json, int infra_errors) {
  if (!json.empty()) {
    if (Status s = write_json(all, json); !s.ok()) return report_error("json", s.error());
  }
  if (process::cancelled()) {
    progress_line("interrupted");
    return kExitInfra;
  }
  if (infra_errors > 0) return kExitInfra;
  return all.reproduced() == all.runs_size() && all.runs_size() > 0 ? kExitOk : kExitNegative;
}

}  // namespace racerig::host
