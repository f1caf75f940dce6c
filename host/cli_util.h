// Small helpers shared by the subcommands: CLI11 option helpers, progress
// lines, JSON output, and the kernel/scenario lookups every run needs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <google/protobuf/message.h>

#include "host/commands.h"
#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::run {
struct RunOptions;
}

namespace racerig::host {

// CLI11 helpers shared by the subcommands' option definitions.
// A whole number from 1 to 100000 (--runs, --cpus, --duration, --seed); the
// error names the value ("--runs: wants a number from 1 to 100000, got \"0\"").
const CLI::Validator& positive_int();
// Adds `--name N` bound to `target` (its initial value is the default shown
// in the help), checked by positive_int().
CLI::Option* add_count_option(CLI::App& app, const std::string& name, int& target, const std::string& description);
// As add_count_option(), where 0 is allowed too.
CLI::Option* add_zero_or_count_option(CLI::App& app, const std::string& name, int& target,
                                      const std::string& description);
// Adds `--json FILE` ("-": stdout) bound to `target` (empty: not written).
CLI::Option* add_json_option(CLI::App& app, std::string& target, const std::string& what);

// "racerig: <line>" on stderr.
void progress_line(const std::string& line);

// Keeps stdout for the JSON report alone (`--json -`): from this call on,
// whatever is printed to stdout (tables, progress, child processes) goes to
// stderr, and only write_json(..., "-") reaches the original stdout. Call
// before printing anything.
Status reserve_stdout_for_json();

// Writes the protobuf JSON mapping of `message`, zero-valued fields included,
// to `path` ("-" = stdout).
Status write_json(const google::protobuf::Message& message, const std::string& path);

// The end of `reproduce` and `stress`: writes the JSON report to `json`
// unless it is empty, and returns 3 when interrupted or a run had an
// infrastructure error, else 0 when every run reproduced and 1 otherwise.
int finish_runs(const pb::ReproduceReport& all, const std::string& json, int infra_errors);

// The VM backend options of every command that boots VMs: --backend
// qemu|libvirt and --libvirt-uri URI (which implies libvirt). Empty: not given.
struct BackendArgs {
  std::string backend;
  std::string libvirt_uri;
};
// Adds both options to `app`, bound to `into`.
void add_backend_options(CLI::App& app, BackendArgs& into);
// Sets options.backend/libvirt_uri. kInput for --libvirt-uri with --backend
// qemu, or an empty URI.
Status apply_backend_args(const BackendArgs& args, run::RunOptions& options);
// Adds --restore auto|incoming|loadvm (how runs restore the ready state),
// bound to `into` (which holds the default, "auto").
void add_restore_option(CLI::App& app, std::string& into);
// apply_backend_args, then options.restore from `restore`. kInput naming the
// option and its value.
Status apply_vm_args(const BackendArgs& backend, const std::string& restore, run::RunOptions& options);
// For --server: racerigd's own --backend/--libvirt-uri/--restore decide how
// its runs boot, so giving them to the client is kInput (not silently ignored).
Status check_no_vm_args_for_server(const BackendArgs& backend, const std::string& restore);

// Exit code for an error: input → 2, everything else → 3.
int exit_code_for(const Error& error);
int report_error(const std::string& context, const Error& error);

}  // namespace racerig::host

namespace racerig::run {
struct KernelFiles;
}

namespace racerig::host {
// Builds the variant if needed (cached by content) and returns its files.
// Unknown variants are kInput errors; build failures are kBuild.
Result<run::KernelFiles> ensure_kernel(const std::string& variant);
// Where racerig keeps derived files of its own (initramfs images).
std::filesystem::path work_dir();
// Where the logs of INFRA_ERROR and STALLED runs are kept (the cache's logs/runs).
std::filesystem::path run_logs_dir();
}  // namespace racerig::host

namespace racerig::jobs {
struct JobEnv;
}

namespace racerig::host {
// The jobs' environment: this checkout and the usual kernel cache.
jobs::JobEnv job_env();
}  // namespace racerig::host

namespace racerig::kbuild {
class Cache;
}

namespace racerig::host {
// The kernel cache for the repo's kernels/ at `root` (default: the usual one).
Result<kbuild::Cache> open_cache(const std::filesystem::path& root = {});
}  // namespace racerig::host
