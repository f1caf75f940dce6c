// Small helpers shared by the subcommands: argument parsing, progress lines,
// JSON output, and the kernel/scenario lookups every run needs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "host/commands.h"
#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::run {
struct RunOptions;
}

namespace racerig::host {

// Parses "--name value", "--name=value" and "--flag". Unknown options and
// missing values are errors naming them.
struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> flags;
  std::vector<std::string> positional;

  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
  bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  // The value of --name as a number from 1 to 100000, or `fallback` when
  // the option is absent; anything else is a kInput error naming it.
  Result<int> positive_int(const std::string& name, int fallback) const;
};
Result<ParsedArgs> parse_args(const Args& args, const std::set<std::string>& with_value,
                              const std::set<std::string>& flags);

// "racerig: <line>" on stderr.
void progress_line(const std::string& line);

// Writes the protobuf JSON mapping of `message` to `path` ("-" = stdout).
Status write_json(const google::protobuf::Message& message, const std::string& path);

// The end of `reproduce` and `stress`: writes the JSON report if asked, and
// returns 3 when interrupted or a run had an infrastructure error, else 0
// when every run reproduced and 1 otherwise.
int finish_runs(const pb::ReproduceReport& all, const std::optional<std::string>& json, int infra_errors);

// The backend options every command that boots VMs takes: --backend
// qemu|libvirt and --libvirt-uri URI (which implies libvirt). kInput names a
// bad value.
inline constexpr const char* kBackendUsage =
    "  --backend qemu|libvirt   start QEMU directly (default) or as transient libvirt domains\n"
    "  --libvirt-uri URI        libvirt's URI (default: qemu:///embed?root=<cache>/libvirt)\n";
Status apply_backend_args(const ParsedArgs& args, run::RunOptions& options);

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
// Builds `base` plus extra patch files as a content-addressed variant. A
// patch that is empty, binary or has no diff is kInput; one that does not
// apply or a kernel that does not build is kBuild (naming hunk / compiler
// error lines and the log).
Result<run::KernelFiles> ensure_patched_kernel(const std::string& base,
                                               const std::vector<std::filesystem::path>& patches);
// Where racerig keeps derived files of its own (initramfs images).
std::filesystem::path work_dir();
}  // namespace racerig::host

namespace racerig::kbuild {
class Cache;
}

namespace racerig::host {
// The kernel cache for the repo's kernels/ at `root` (default: the usual one).
Result<kbuild::Cache> open_cache(const std::filesystem::path& root = {});
}  // namespace racerig::host
