// OpRunner: carries out the workload's operations (racerig.pb.Op) with plain
// syscalls and turns each into an OP_OK or OP_FAILED event. Nothing here
// needs a guest kernel: the host unit tests run it against a temp dir.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "guest/agent/exec.h"
#include "guest/agent/op_status.h"
#include "proto/racerig.pb.h"
#include "rig/base/scoped_fd.h"

namespace racerig::agent {

struct OpEnv {
  // Where drop_caches writes "3" (after sync()).
  std::string drop_caches_path = "/proc/sys/vm/drop_caches";
  // Where the agent writes the argument of the host's go line ("go 1234"),
  // for fsx ops with seed_from_go.
  std::string go_seed_path = "/racerig-go-seed";
  // exec ops: where programs are, their timeouts and output bounds.
  ExecConfig exec;
};

class OpRunner {
 public:
  explicit OpRunner(OpEnv env = {}) : env_(std::move(env)) {}

  // Runs one op to completion. Blocks in the op's syscalls; fsx and
  // flip_loop run for their own ops/iterations or duration. Returns an
  // OP_OK or OP_FAILED event with op, path, err_no, message, check_failed
  // and what the op measured (DAX state, seed); the caller adds actor,
  // op_index and pid. A SIGBUS on a mapping is a failure, not a crash.
  pb::AgentEvent run(const pb::Op& op);

  // Files held open by `open` ops (closed by `close` or when the runner goes).
  size_t held_files() const { return held_.size(); }

 private:
  OpStatus create(const pb::Create& op);
  OpStatus pwrite(const pb::Pwrite& op);
  OpStatus pread(const pb::Pread& op);
  OpStatus fsync(const pb::Fsync& op);
  OpStatus mmap_write(const pb::MmapWrite& op);
  OpStatus mmap_read(const pb::MmapRead& op);
  OpStatus set_dax(const pb::SetDaxFlag& op, pb::AgentEvent* ev);
  OpStatus report_dax(const pb::ReportDax& op, pb::AgentEvent* ev);
  OpStatus truncate(const pb::Truncate& op);
  OpStatus drop_caches();
  OpStatus open(const pb::OpenFile& op);
  OpStatus close(const pb::CloseFile& op);
  OpStatus flip_loop(const pb::FlipLoop& op);

  OpEnv env_;
  std::map<std::string, ScopedFd> held_;
};

// "" when every byte of data[0, n) equals `pattern`; otherwise "K of N bytes
// differ from 0xPP; the first, at file offset X, is 0xQQ".
std::string describe_mismatch(const uint8_t* data, size_t n, uint8_t pattern, uint64_t file_offset);

// Writes all of [data, data+n) at `offset` (retrying short writes).
OpStatus pwrite_all(int fd, const void* data, size_t n, uint64_t offset, const std::string& path);
// Reads up to n bytes at `offset` until EOF; *got is what was read.
OpStatus pread_all(int fd, void* data, size_t n, uint64_t offset, const std::string& path, size_t* got);

}  // namespace racerig::agent
