// Guest operations: each one a few syscalls with every failure named.
#include "guest/agent/ops.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "guest/agent/dax.h"
#include "guest/agent/fsx.h"
#include "guest/agent/memguard.h"
#include "guest/agent/plan.h"
#include "rig/base/file.h"
#include "rig/base/text.h"

namespace racerig::agent {

namespace {

constexpr size_t kChunk = 1 << 20;

std::string byte_hex(uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v);
  return buf;
}

OpStatus check_pattern(uint32_t pattern) {
  if (pattern > 0xff)
    return OpStatus::invalid("pattern " + std::to_string(pattern) + " is not a byte value (expected 0..255)");
  return OpStatus::success();
}

OpStatus check_range(uint64_t offset, uint64_t length) {
  if (length == 0) return OpStatus::invalid("length 0 (expected at least 1 byte)");
  if (offset + length < offset) return OpStatus::invalid("offset " + hex(offset) + " + length " + hex(length) + " overflows");
  return OpStatus::success();
}

ScopedFd open_file(const std::string& path, int flags) { return ScopedFd(::open(path.c_str(), flags | O_CLOEXEC, 0644)); }

// A MAP_SHARED mapping of [offset, offset+length) of a file; the mapping
// starts at the page boundary below `offset`.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (base_ != nullptr) ::munmap(base_, len_);
  }
  OpStatus map(int fd, uint64_t offset, uint64_t length, int prot, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return OpStatus::sys("fstat " + path);
    if (offset + length > static_cast<uint64_t>(st.st_size))
      return OpStatus::invalid("range [" + hex(offset) + ", " + hex(offset + length) + ") ends past EOF of " + path +
                               " (size " + hex(static_cast<uint64_t>(st.st_size)) + "); a mapping there would SIGBUS");
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = offset & ~(page - 1);
    delta_ = offset - start;
    len_ = delta_ + length;
    void* p = ::mmap(nullptr, len_, prot, MAP_SHARED, fd, static_cast<off_t>(start));
    if (p == MAP_FAILED) return OpStatus::sys("mmap " + path + " at " + hex(start) + " length " + hex(len_));
    base_ = p;
    return OpStatus::success();
  }
  // Unmaps now (so a failure is seen); the destructor does it otherwise.
  OpStatus unmap(const std::string& path) {
    void* p = base_;
    base_ = nullptr;
    if (::munmap(p, len_) != 0) return OpStatus::sys("munmap " + path);
    return OpStatus::success();
  }
  uint8_t* at() const { return static_cast<uint8_t*>(base_) + delta_; }

 private:
  void* base_ = nullptr;
  size_t len_ = 0;
  size_t delta_ = 0;
};

}  // namespace

std::string describe_mismatch(const uint8_t* data, size_t n, uint8_t pattern, uint64_t file_offset) {
  size_t bad = 0;
  size_t first = n;
  for (size_t i = 0; i < n; ++i) {
    if (data[i] != pattern) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad == 0) return "";
  return std::to_string(bad) + " of " + std::to_string(n) + " bytes differ from " + byte_hex(pattern) +
         "; the first, at file offset " + hex(file_offset + first) + ", is " + byte_hex(data[first]);
}

OpStatus pwrite_all(int fd, const void* data, size_t n, uint64_t offset, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return OpStatus::sys("pwrite " + path + " at " + hex(offset + done));
    if (w == 0) return OpStatus::sys_errno(EIO, "pwrite " + path + " wrote nothing at " + hex(offset + done));
    done += static_cast<size_t>(w);
  }
  return OpStatus::success();
}

OpStatus pread_all(int fd, void* data, size_t n, uint64_t offset, const std::string& path, size_t* got) {
  auto* p = static_cast<uint8_t*>(data);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return OpStatus::sys("pread " + path + " at " + hex(offset + done));
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *got = done;
  return OpStatus::success();
}

pb::AgentEvent OpRunner::run(const pb::Op& op) {
  pb::AgentEvent ev;
  ev.set_op(op_name(op));
  ev.set_path(op_path(op));
  OpStatus st;
  switch (op.kind_case()) {
    case pb::Op::kCreate: st = create(op.create()); break;
    case pb::Op::kPwrite: st = pwrite(op.pwrite()); break;
    case pb::Op::kPread: st = pread(op.pread()); break;
    case pb::Op::kFsync: st = fsync(op.fsync()); break;
    case pb::Op::kMmapWrite: st = mmap_write(op.mmap_write()); break;
    case pb::Op::kMmapRead: st = mmap_read(op.mmap_read()); break;
    case pb::Op::kSetDax: st = set_dax(op.set_dax(), &ev); break;
    case pb::Op::kReportDax: st = report_dax(op.report_dax(), &ev); break;
    case pb::Op::kTruncate: st = truncate(op.truncate()); break;
    case pb::Op::kDropCaches: st = drop_caches(); break;
    case pb::Op::kOpen: st = open(op.open()); break;
    case pb::Op::kClose: st = close(op.close()); break;
    case pb::Op::kFsx: {
      pb::Fsx spec = op.fsx();
      if (spec.seed_from_go()) {
        auto text = read_file(env_.go_seed_path, 64);
        unsigned long long seed = text.ok() ? std::strtoull(text->c_str(), nullptr, 10) : 0;
        if (seed == 0) {
          st = OpStatus::invalid("fsx wants its seed from the go line, and " + env_.go_seed_path + " has none");
          break;
        }
        spec.set_seed(seed);
      }
      FsxResult r = run_fsx(spec);
      ev.set_seed(r.seed);
      st = r.status;
      break;
    }
    case pb::Op::kFlipLoop: st = flip_loop(op.flip_loop()); break;
    case pb::Op::kExec: st = run_exec(op.exec(), env_.exec, &ev); break;
    case pb::Op::KIND_NOT_SET: st = OpStatus::invalid("the op has no kind set"); break;
  }
  ev.set_kind(st.ok ? pb::AgentEvent::OP_OK : pb::AgentEvent::OP_FAILED);
  ev.set_err_no(st.err_no);
  ev.set_check_failed(st.check_failed);
  ev.set_message(st.message);
  return ev;
}

OpStatus OpRunner::create(const pb::Create& op) {
  if (OpStatus s = check_pattern(op.pattern()); !s.ok) return s;
  ScopedFd fd = open_file(op.path(), O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.valid()) return OpStatus::sys("open(O_CREAT|O_TRUNC) " + op.path());
  std::vector<uint8_t> buf(std::min<uint64_t>(op.size(), kChunk), static_cast<uint8_t>(op.pattern()));
  for (uint64_t off = 0; off < op.size(); off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), op.size() - off));
    if (OpStatus s = pwrite_all(fd.get(), buf.data(), n, off, op.path()); !s.ok) return s;
  }
  return OpStatus::success();
}

OpStatus OpRunner::pwrite(const pb::Pwrite& op) {
  if (OpStatus s = check_pattern(op.pattern()); !s.ok) return s;
  if (OpStatus s = check_range(op.offset(), op.length()); !s.ok) return s;
  ScopedFd fd = open_file(op.path(), O_WRONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_WRONLY) " + op.path());
  std::vector<uint8_t> buf(std::min<uint64_t>(op.length(), kChunk), static_cast<uint8_t>(op.pattern()));
  for (uint64_t done = 0; done < op.length(); done += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), op.length() - done));
    if (OpStatus s = pwrite_all(fd.get(), buf.data(), n, op.offset() + done, op.path()); !s.ok) return s;
  }
  return OpStatus::success();
}

OpStatus OpRunner::pread(const pb::Pread& op) {
  if (OpStatus s = check_pattern(op.pattern()); !s.ok) return s;
  if (OpStatus s = check_range(op.offset(), op.length()); !s.ok) return s;
  ScopedFd fd = open_file(op.path(), O_RDONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_RDONLY) " + op.path());
  std::vector<uint8_t> buf(std::min<uint64_t>(op.length(), kChunk));
  uint64_t total = 0;
  while (total < op.length()) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), op.length() - total));
    size_t got = 0;
    if (OpStatus s = pread_all(fd.get(), buf.data(), want, op.offset() + total, op.path(), &got); !s.ok) return s;
    if (op.check()) {
      std::string bad = describe_mismatch(buf.data(), got, static_cast<uint8_t>(op.pattern()), op.offset() + total);
      if (!bad.empty()) return OpStatus::check(bad);
    }
    total += got;
    if (got < want) break;
  }
  if (total < op.length()) {
    std::string msg = "read " + std::to_string(total) + " of " + std::to_string(op.length()) + " bytes: EOF at " +
                      hex(op.offset() + total);
    return op.check() ? OpStatus::check(msg) : OpStatus::success(msg);
  }
  return OpStatus::success(op.check() ? "all " + std::to_string(total) + " bytes are " + byte_hex(op.pattern()) : "");
}

OpStatus OpRunner::fsync(const pb::Fsync& op) {
  ScopedFd fd = open_file(op.path(), O_RDONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_RDONLY) " + op.path());
  if (::fsync(fd.get()) != 0) return OpStatus::sys("fsync " + op.path());
  return OpStatus::success();
}

OpStatus OpRunner::mmap_write(const pb::MmapWrite& op) {
  if (OpStatus s = check_pattern(op.pattern()); !s.ok) return s;
  if (OpStatus s = check_range(op.offset(), op.length()); !s.ok) return s;
  ScopedFd fd = open_file(op.path(), O_RDWR);
  if (!fd.valid()) return OpStatus::sys("open(O_RDWR) " + op.path());
  Mapping m;
  if (OpStatus s = m.map(fd.get(), op.offset(), op.length(), PROT_READ | PROT_WRITE, op.path()); !s.ok) return s;
  // The store is the first touch of the fresh mapping: it takes the write fault.
  if (auto fault = guarded_fill(m.at(), static_cast<uint8_t>(op.pattern()), op.length()))
    return OpStatus::sys_errno(EFAULT, "storing to the mapping of " + op.path() + ": " + fault->describe());
  return m.unmap(op.path());
}

OpStatus OpRunner::mmap_read(const pb::MmapRead& op) {
  if (OpStatus s = check_pattern(op.pattern()); !s.ok) return s;
  if (OpStatus s = check_range(op.offset(), op.length()); !s.ok) return s;
  ScopedFd fd = open_file(op.path(), O_RDONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_RDONLY) " + op.path());
  Mapping m;
  if (OpStatus s = m.map(fd.get(), op.offset(), op.length(), PROT_READ, op.path()); !s.ok) return s;
  std::vector<uint8_t> buf(op.length());
  if (auto fault = guarded_copy(buf.data(), m.at(), buf.size()))
    return OpStatus::sys_errno(EFAULT, "loading from the mapping of " + op.path() + ": " + fault->describe());
  if (OpStatus s = m.unmap(op.path()); !s.ok) return s;
  if (op.check()) {
    std::string bad = describe_mismatch(buf.data(), buf.size(), static_cast<uint8_t>(op.pattern()), op.offset());
    if (!bad.empty()) return OpStatus::check(bad);
    return OpStatus::success("all " + std::to_string(buf.size()) + " bytes are " + byte_hex(op.pattern()));
  }
  return OpStatus::success();
}

OpStatus OpRunner::set_dax(const pb::SetDaxFlag& op, pb::AgentEvent* ev) {
  ScopedFd fd = open_file(op.path(), O_RDONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_RDONLY) " + op.path());
  if (OpStatus s = write_xflag_dax(fd.get(), op.path(), op.enable()); !s.ok) return s;
  bool now = false;
  if (OpStatus s = read_xflag_dax(fd.get(), op.path(), &now); !s.ok) return s;
  ev->set_xflag_dax(now);
  if (now != op.enable())
    return OpStatus::check(std::string("FS_IOC_FSSETXATTR succeeded but FS_XFLAG_DAX reads back ") + (now ? "1" : "0"));
  return OpStatus::success();
}

OpStatus OpRunner::report_dax(const pb::ReportDax& op, pb::AgentEvent* ev) {
  DaxState st;
  if (OpStatus s = read_dax_state(op.path(), &st); !s.ok) return s;
  ev->set_statx_attributes(st.statx_attributes);
  ev->set_statx_dax(st.statx_dax);
  ev->set_xflag_dax(st.xflag_dax);
  std::string state = std::string("STATX_ATTR_DAX=") + (st.statx_dax ? "1" : "0") +
                      " FS_XFLAG_DAX=" + (st.xflag_known ? (st.xflag_dax ? "1" : "0") : "?");
  if (!st.note.empty()) state += " (" + st.note + ")";
  if (op.expect() == pb::ReportDax::DAX && !st.statx_dax) return OpStatus::check("expected DAX, got " + state);
  if (op.expect() == pb::ReportDax::NOT_DAX && st.statx_dax) return OpStatus::check("expected NOT_DAX, got " + state);
  return OpStatus::success(state);
}

OpStatus OpRunner::truncate(const pb::Truncate& op) {
  if (op.size() > static_cast<uint64_t>(INT64_MAX)) return OpStatus::invalid("size " + hex(op.size()) + " too large");
  if (::truncate(op.path().c_str(), static_cast<off_t>(op.size())) != 0)
    return OpStatus::sys("truncate " + op.path() + " to " + hex(op.size()));
  return OpStatus::success();
}

OpStatus OpRunner::drop_caches() {
  ::sync();
  ScopedFd fd = open_file(env_.drop_caches_path, O_WRONLY);
  if (!fd.valid()) return OpStatus::sys("open " + env_.drop_caches_path);
  if (::write(fd.get(), "3\n", 2) != 2) return OpStatus::sys("writing 3 to " + env_.drop_caches_path);
  return OpStatus::success();
}

OpStatus OpRunner::open(const pb::OpenFile& op) {
  if (held_.count(op.path()) != 0) return OpStatus::invalid(op.path() + " is already held open by this actor");
  ScopedFd fd = open_file(op.path(), O_RDONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_RDONLY) " + op.path());
  held_.emplace(op.path(), std::move(fd));
  return OpStatus::success();
}

OpStatus OpRunner::close(const pb::CloseFile& op) {
  auto it = held_.find(op.path());
  if (it == held_.end()) return OpStatus::invalid(op.path() + " is not held open by this actor (no earlier open op)");
  int fd = it->second.release();
  held_.erase(it);
  if (::close(fd) != 0) return OpStatus::sys("close " + op.path());
  return OpStatus::success();
}

OpStatus OpRunner::flip_loop(const pb::FlipLoop& op) {
  if (op.iterations() == 0 && op.duration_ms() == 0)
    return OpStatus::invalid("flip_loop needs iterations or duration_ms (both are 0)");
  ScopedFd fd = open_file(op.path(), O_RDONLY);
  if (!fd.valid()) return OpStatus::sys("open(O_RDONLY) " + op.path());
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::milliseconds(op.duration_ms());
  uint64_t done = 0, errors = 0;
  std::string first_error;
  while ((op.iterations() == 0 || done < op.iterations()) && (op.duration_ms() == 0 || Clock::now() < end)) {
    for (bool enable : {false, true}) {
      if (OpStatus s = write_xflag_dax(fd.get(), op.path(), enable); !s.ok) {
        s.message += " (cycle " + std::to_string(done) + ")";
        if (!op.keep_going()) return s;
        if (errors++ == 0) first_error = s.message;
      }
    }
    ++done;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::string note = std::to_string(done) + " clear/set cycles in " + std::to_string(ms) + " ms";
  if (errors > 0) note += "; " + std::to_string(errors) + " failed, kept going; the first: " + first_error;
  return OpStatus::success(note);
}

}  // namespace racerig::agent
