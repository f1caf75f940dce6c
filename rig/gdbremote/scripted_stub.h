// A scripted gdbstub for tests: one end of a socketpair served by a thread
// that expects the client's requests in order and answers with canned
// replies (taken from what QEMU 7.2 really sends). Mismatches are recorded,
// never thrown, so a wrong client fails the test instead of hanging it.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rig/base/scoped_fd.h"
#include "rig/gdbremote/connection.h"

namespace racerig::gdbremote::testing {

struct Exchange {
  std::string expect;                // a request payload, or "\x03" for the interrupt byte
  std::vector<std::string> replies;  // payloads, framed by the stub
  std::string raw;                   // bytes sent as they are before the replies (bad frames)
  bool nack_once = false;            // answer the first copy of the request with '-'
  bool hang_up = false;              // close the connection instead of replying
};

class ScriptedStub {
 public:
  explicit ScriptedStub(std::vector<Exchange> script);
  ~ScriptedStub();
  // The client's end (once).
  Connection connection();
  // Everything that differed from the script, and whether all of it ran.
  std::vector<std::string> problems();
  bool finished() const { return next_ == script_.size(); }
  // Requests the stub saw, in order (acks excluded).
  std::vector<std::string> seen();

 private:
  void serve();
  void send_frame(const std::string& bytes);

  std::vector<Exchange> script_;
  ScopedFd mine_, theirs_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> problems_, seen_;
  std::thread thread_;
};

}  // namespace racerig::gdbremote::testing
