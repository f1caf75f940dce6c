// Compiling and caching guest programs (see compile.h).
#include "rig/programs/compile.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rig/base/file.h"
#include "rig/base/sha256.h"
#include "rig/kbuild/worker.h"

namespace racerig::programs {

namespace fs = std::filesystem;

namespace {

constexpr char kRecipe[] = "racerig guest program 1 (static, sandboxed)";

// A temp directory the compiler may write (the only writable place in its
// sandbox), removed when it goes.
class BuildDir {
 public:
  ~BuildDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  Status make(const std::optional<process::Identity>& who) {
    std::string tmpl = (fs::temp_directory_path() / "racerig-program-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return errno_error("mkdtemp " + tmpl);
    path_ = tmpl;
    if (who && ::chown(path_.c_str(), who->uid, who->gid) != 0) return errno_error("giving " + tmpl + " to " + who->name);
    return Status::Ok();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Result<Program> compile_one(const scenario::LoadedScenario& loaded, const pb::Program& p,
                            const CompileOptions& options, const std::string& version) {
  const fs::path source = scenario::program_source(loaded, p);
  const std::string what = loaded.path.string() + ": program \"" + p.name() + "\" (" + source.string() + ")";
  RACERIG_ASSIGN(std::string text, read_file(source, "the program's source"));
  std::string key_text = std::string(kRecipe) + "\ncompiler: " + options.compiler + "\nversion: " + version + "\nflags:";
  for (const auto& f : options.flags) key_text += " " + f;
  key_text += "\nsource sha256: " + sha256_hex(text) + "\n";
  Program out;
  out.name = p.name();
  out.key = sha256_hex(key_text).substr(0, 32);
  const fs::path cache_dir = options.work_dir / "programs";
  out.binary = cache_dir / out.key;
  std::error_code ec;
  if (fs::is_regular_file(out.binary, ec)) return out;

  BuildDir dir;
  RACERIG_TRY(dir.make(options.who));
  // The source goes in under its own file name, so that the diagnostics
  // name it as the user wrote it.
  const std::string file = source.filename().string();
  RACERIG_TRY(write_file(dir.path() / file, text));
  if (options.who && ::chown((dir.path() / file).c_str(), options.who->uid, options.who->gid) != 0)
    return errno_error("giving " + (dir.path() / file).string() + " to " + options.who->name);
  std::vector<std::string> argv{options.compiler};
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());
  argv.insert(argv.end(), {"-o", p.name(), file});
  const kbuild::Worker worker(options.who, {options.work_dir});
  process::Limits limits;
  limits.deadline = Deadline::after(options.time_limit);
  limits.what = "compiling " + what;
  RACERIG_ASSIGN(process::Exit e, worker.run(dir.path(), dir.path(), argv, limits));
  if (e.code != 0)
    return make_error(ErrorKind::kInput, what + " does not compile (" + process::command_text(argv) + ", exit " +
                                             std::to_string(e.code) + "):\n" + e.output);
  fs::create_directories(cache_dir, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot create " + cache_dir.string() + ": " + ec.message());
  RACERIG_ASSIGN(std::string binary, read_file(dir.path() / p.name(), "the compiled program", 256u << 20));
  RACERIG_TRY(write_file_atomic(out.binary, binary));
  if (::chmod(out.binary.c_str(), 0755) != 0) return errno_error("chmod " + out.binary.string());
  return out;
}

}  // namespace

Result<std::string> compiler_version(const CompileOptions& options) {
  process::Spec s;
  s.argv = {options.compiler, "--version"};
  s.env = kbuild::build_environment();
  s.identity = options.who;
  s.cwd = "/";
  process::Limits limits;
  limits.deadline = Deadline::after(std::chrono::seconds(30));
  auto out = process::run_checked(s, limits);
  if (!out.ok()) return out.error().wrap("the guest programs' compiler");
  std::string line = out->substr(0, out->find('\n'));
  if (line.empty()) return make_error(ErrorKind::kIo, "\"" + options.compiler + " --version\" printed nothing");
  return line;
}

Result<std::vector<Program>> compile_programs(const scenario::LoadedScenario& loaded, const CompileOptions& options) {
  std::vector<Program> out;
  if (loaded.scenario.programs().empty()) return out;
  RACERIG_ASSIGN(std::string version, compiler_version(options));
  for (const pb::Program& p : loaded.scenario.programs()) {
    RACERIG_ASSIGN(Program compiled, compile_one(loaded, p, options, version));
    out.push_back(std::move(compiled));
  }
  return out;
}

}  // namespace racerig::programs
