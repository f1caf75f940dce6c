// A racerigd child process for the integration tests: its own directory
// (socket, state, tokens and a token file), started, killed with SIGKILL or
// stopped, and driven through racerig's client or the Python one
// (racerigd_client.py). RACERIGD_BIN, RACERIG_BIN and RACERIG_SOURCE_DIR
// come from tests/CMakeLists.txt.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support.h"

namespace racerig::test {

// A racerigd child process with its own socket, state and tokens.
class Daemon {
 public:
  // `parent`: where its directory goes (default: $TMPDIR).
  explicit Daemon(const std::string& name,
                  const std::filesystem::path& parent = std::filesystem::temp_directory_path()) {
    dir_ = parent / ("racerigd-it-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "# test tokens\nci 0123456789abcdef-integration\n";
    // racerigd refuses a tokens file that group or others can read.
    std::filesystem::permissions(dir_ / "tokens",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    std::ofstream(dir_ / "token") << "0123456789abcdef-integration\n";
    std::ofstream(dir_ / "wrong-token") << "0123456789abcdef-wrong\n";
  }
  ~Daemon() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  // Starts racerigd and waits (up to 60 s) for its socket.
  bool start(const std::vector<std::string>& extra = {}) {
    std::filesystem::remove(socket());
    const size_t log_size = log().size();
    std::vector<std::string> argv = {RACERIGD_BIN,
                                     "--socket",
                                     socket(),
                                     "--state",
                                     (dir_ / "state").string(),
                                     "--tokens",
                                     (dir_ / "tokens").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      int log = ::open((dir_ / "racerigd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::setenv("RACERIG_ROOT", root_.c_str(), 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    // The "serving" line comes once the server listens and the workers run;
    // each write to the log (in dir_) wakes the wait, and so does the
    // daemon's exit.
    if (wait_for_in_dir(
            dir_,
            [&] {
              return std::filesystem::exists(socket()) &&
                     log().find("racerigd: serving", log_size) != std::string::npos;
            },
            std::chrono::seconds(60), pid_))
      return true;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
    return false;
  }
  void kill9() { kill_child(&pid_); }
  // SIGTERM, then SIGKILL after 60 s.
  void stop() { stop_child(&pid_, std::chrono::seconds(60)); }
  // Before start(): adds a submitter to the tokens file, and its token to
  // the file `name`-token (readable by all, as a user's own file may be).
  void add_submitter(const std::string& name, const std::string& token) {
    std::ofstream(dir_ / "tokens", std::ios::app) << name << " " << token << "\n";
    std::ofstream(dir_ / (name + "-token")) << token << "\n";
    std::filesystem::permissions(dir_ / (name + "-token"),
                                 std::filesystem::perms::others_read | std::filesystem::perms::group_read,
                                 std::filesystem::perm_options::add);
  }
  // Before start(): the checkout whose kernels/ and scenarios/ the daemon
  // serves (default: this one).
  void set_root(const std::filesystem::path& root) { root_ = root; }
  std::string socket() const { return (dir_ / "racerigd.sock").string(); }
  std::string log() const { return read_text(dir_ / "racerigd.log"); }
  std::filesystem::path dir() const { return dir_; }
  // racerig CMD --server unix:SOCKET --token-file TOKEN ARGS
  Ran cli(const std::string& cmd, const std::string& args, const std::string& token = "token") const {
    return run_shell("RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN + " " + cmd +
                     " --server unix:" + socket() + " --token-file " + (dir_ / token).string() + " " + args);
  }
  Ran python(const std::string& mode) const {
    return run_shell("/usr/bin/python3 " + std::string(RACERIG_SOURCE_DIR) + "/tests/integration/racerigd_client.py " +
                     RACERIG_SOURCE_DIR + " " + socket() + " " + (dir_ / "token").string() + " " + mode);
  }

 private:
  std::filesystem::path dir_;
  std::filesystem::path root_ = RACERIG_SOURCE_DIR;
  pid_t pid_ = -1;
};

}  // namespace racerig::test
