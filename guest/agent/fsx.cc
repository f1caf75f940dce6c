// fsx-like exerciser with a shadow copy.
#include "guest/agent/fsx.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "guest/agent/memguard.h"
#include "guest/agent/ops.h"
#include "rig/base/scoped_fd.h"
#include "rig/base/text.h"

namespace racerig::agent {

namespace {

constexpr uint64_t kMaxIo = 64 << 10;
constexpr size_t kHistory = 12;

// splitmix64: small, fast, and the same sequence on every build.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform-enough in [0, n); n > 0.
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t s_;
};

class Fsx {
 public:
  Fsx(const pb::Fsx& spec, uint64_t seed)
      : spec_(spec),
        rng_(seed),
        seed_(seed),
        max_size_(spec.max_size() != 0 ? spec.max_size() : kFsxDefaultMaxSize),
        page_(static_cast<uint64_t>(::sysconf(_SC_PAGESIZE))) {}

  FsxResult run() {
    FsxResult r;
    r.seed = seed_;
    r.status = run_ops(&r.ops_done);
    if (r.status.ok) r.status.message = std::to_string(r.ops_done) + " ops, seed " + std::to_string(seed_);
    return r;
  }

 private:
  const std::string& path() const { return spec_.path(); }

  OpStatus fail(OpStatus s) {
    std::string hist;
    for (const auto& h : history_) hist += (hist.empty() ? "" : "; ") + h;
    s.message = "fsx seed " + std::to_string(seed_) + ", op #" + std::to_string(op_no_) + ": " + s.message +
                " [last ops: " + hist + "]";
    return s;
  }

  void note(const std::string& what, uint64_t off, uint64_t len) {
    history_.push_back("#" + std::to_string(op_no_) + " " + what + " " + hex(off) + "+" + hex(len));
    if (history_.size() > kHistory) history_.pop_front();
  }

  // Compares `got` (read from the file at `off`) with the shadow.
  OpStatus compare(const uint8_t* got, uint64_t off, uint64_t len, const char* how) {
    for (uint64_t i = 0; i < len; ++i) {
      if (got[i] != shadow_[off + i]) {
        uint64_t bad = 0;
        for (uint64_t j = i; j < len; ++j) bad += got[j] != shadow_[off + j] ? 1 : 0;
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s: byte at %s is 0x%02x, expected 0x%02x (%llu bad bytes in the range)", how,
                      hex(off + i).c_str(), got[i], shadow_[off + i], static_cast<unsigned long long>(bad));
        return OpStatus::check(buf);
      }
    }
    return OpStatus::success();
  }

  void random_bytes(std::vector<uint8_t>* buf) {
    for (size_t i = 0; i < buf->size(); i += 8) {
      uint64_t v = rng_.next();
      for (size_t k = 0; k < 8 && i + k < buf->size(); ++k) (*buf)[i + k] = static_cast<uint8_t>(v >> (8 * k));
    }
  }

  // A random range inside [0, limit); limit > 0.
  void pick_range(uint64_t limit, uint64_t* off, uint64_t* len) {
    *off = rng_.below(limit);
    *len = 1 + rng_.below(std::min(limit - *off, kMaxIo));
  }

  OpStatus op_pwrite() {
    uint64_t off, len;
    pick_range(max_size_, &off, &len);
    note("pwrite", off, len);
    std::vector<uint8_t> data(len);
    random_bytes(&data);
    if (OpStatus s = pwrite_all(fd_.get(), data.data(), len, off, path()); !s.ok) return s;
    if (off + len > shadow_.size()) shadow_.resize(off + len, 0);
    std::copy(data.begin(), data.end(), shadow_.begin() + static_cast<ptrdiff_t>(off));
    return OpStatus::success();
  }

  OpStatus op_pread() {
    uint64_t off, len;
    pick_range(shadow_.size(), &off, &len);
    note("pread", off, len);
    std::vector<uint8_t> got(len);
    size_t n = 0;
    if (OpStatus s = pread_all(fd_.get(), got.data(), len, off, path(), &n); !s.ok) return s;
    if (n < len)
      return OpStatus::check("pread: EOF at " + hex(off + n) + ", expected the file to be " + hex(shadow_.size()) +
                             " bytes");
    return compare(got.data(), off, len, "pread");
  }

  OpStatus map(uint64_t off, uint64_t len, int prot, void** base, uint64_t* map_len, uint64_t* delta) {
    uint64_t start = off & ~(page_ - 1);
    *delta = off - start;
    *map_len = *delta + len;
    void* p = ::mmap(nullptr, *map_len, prot, MAP_SHARED, fd_.get(), static_cast<off_t>(start));
    if (p == MAP_FAILED) return OpStatus::sys("mmap " + path() + " at " + hex(start) + " length " + hex(*map_len));
    *base = p;
    return OpStatus::success();
  }

  OpStatus op_mmap_write() {
    uint64_t off, len;
    pick_range(shadow_.size(), &off, &len);
    note("mmap_write", off, len);
    std::vector<uint8_t> data(len);
    random_bytes(&data);
    void* base;
    uint64_t map_len, delta;
    if (OpStatus s = map(off, len, PROT_READ | PROT_WRITE, &base, &map_len, &delta); !s.ok) return s;
    auto fault = guarded_copy(static_cast<uint8_t*>(base) + delta, data.data(), len);
    int rc = ::munmap(base, map_len);
    if (fault) return OpStatus::sys_errno(EFAULT, "mmap_write: " + fault->describe());
    if (rc != 0) return OpStatus::sys("munmap " + path());
    std::copy(data.begin(), data.end(), shadow_.begin() + static_cast<ptrdiff_t>(off));
    return OpStatus::success();
  }

  OpStatus op_mmap_read() {
    uint64_t off, len;
    pick_range(shadow_.size(), &off, &len);
    note("mmap_read", off, len);
    std::vector<uint8_t> got(len);
    void* base;
    uint64_t map_len, delta;
    if (OpStatus s = map(off, len, PROT_READ, &base, &map_len, &delta); !s.ok) return s;
    auto fault = guarded_copy(got.data(), static_cast<uint8_t*>(base) + delta, len);
    int rc = ::munmap(base, map_len);
    if (fault) return OpStatus::sys_errno(EFAULT, "mmap_read: " + fault->describe());
    if (rc != 0) return OpStatus::sys("munmap " + path());
    return compare(got.data(), off, len, "mmap_read");
  }

  OpStatus op_truncate() {
    uint64_t size = rng_.below(max_size_ + 1);
    note("truncate", size, 0);
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      return OpStatus::sys("ftruncate " + path() + " to " + hex(size));
    shadow_.resize(size, 0);
    return OpStatus::success();
  }

  OpStatus op_fsync() {
    note("fsync", 0, 0);
    if (::fsync(fd_.get()) != 0) return OpStatus::sys("fsync " + path());
    return OpStatus::success();
  }

  OpStatus full_check() {
    ++op_no_;
    note("final check", 0, shadow_.size());
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return OpStatus::sys("fstat " + path());
    if (static_cast<uint64_t>(st.st_size) != shadow_.size())
      return OpStatus::check("file size is " + hex(static_cast<uint64_t>(st.st_size)) + ", expected " +
                             hex(shadow_.size()));
    std::vector<uint8_t> got(shadow_.size());
    size_t n = 0;
    if (OpStatus s = pread_all(fd_.get(), got.data(), got.size(), 0, path(), &n); !s.ok) return s;
    if (n != got.size()) return OpStatus::check("final read: EOF at " + hex(n) + ", expected " + hex(got.size()));
    return compare(got.data(), 0, got.size(), "final read");
  }

  OpStatus run_ops(uint64_t* done) {
    if (max_size_ > kFsxLimitMaxSize)
      return OpStatus::invalid("max_size " + hex(max_size_) + " is above the limit " + hex(kFsxLimitMaxSize));
    fd_ = ScopedFd(::open(path().c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd_.valid()) return OpStatus::sys("open(O_RDWR|O_CREAT|O_TRUNC) " + path());
    const uint64_t max_ops = spec_.ops() == 0 && spec_.duration_ms() == 0 ? kFsxDefaultOps : spec_.ops();
    using Clock = std::chrono::steady_clock;
    const auto end = Clock::now() + std::chrono::milliseconds(spec_.duration_ms());
    while ((max_ops == 0 || *done < max_ops) && (spec_.duration_ms() == 0 || Clock::now() < end)) {
      ++op_no_;
      uint64_t dice = rng_.below(100);
      OpStatus s;
      if (shadow_.empty() && dice < 85) {
        s = op_pwrite();  // nothing to read or map yet
      } else if (dice < 25) {
        s = op_pwrite();
      } else if (dice < 45) {
        s = op_pread();
      } else if (dice < 65) {
        s = op_mmap_write();
      } else if (dice < 85) {
        s = op_mmap_read();
      } else if (dice < 95) {
        s = op_truncate();
      } else {
        s = op_fsync();
      }
      ++*done;
      if (!s.ok) {
        if (!spec_.keep_going()) return fail(s);
        if (errors_++ == 0) first_error_ = fail(s).message;
        resync();
      }
    }
    if (OpStatus s = full_check(); !s.ok) {
      if (!spec_.keep_going()) return fail(s);
      if (errors_++ == 0) first_error_ = fail(s).message;
    }
    if (errors_ > 0)
      return OpStatus::success(std::to_string(errors_) + " failed ops or checks, kept going; the first: " + first_error_);
    return OpStatus::success();
  }

  // After a failure (keep_going): take the file as it is now as the truth.
  void resync() {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) > max_size_) {
      shadow_.clear();
      if (::ftruncate(fd_.get(), 0) != 0) return;
      return;
    }
    shadow_.assign(static_cast<size_t>(st.st_size), 0);
    size_t n = 0;
    if (!pread_all(fd_.get(), shadow_.data(), shadow_.size(), 0, path(), &n).ok || n != shadow_.size()) {
      shadow_.clear();
      if (::ftruncate(fd_.get(), 0) != 0) return;
    }
  }

  const pb::Fsx& spec_;
  Rng rng_;
  uint64_t seed_;
  uint64_t max_size_;
  uint64_t page_;
  ScopedFd fd_;
  std::vector<uint8_t> shadow_;
  std::deque<std::string> history_;
  uint64_t op_no_ = 0;
  uint64_t errors_ = 0;
  std::string first_error_;
};

uint64_t fresh_seed() {
  uint64_t s = 0;
  if (::getrandom(&s, sizeof s, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof s) || s == 0)
    s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  return s;
}

}  // namespace

FsxResult run_fsx(const pb::Fsx& spec) {
  uint64_t seed = spec.seed() != 0 ? spec.seed() : fresh_seed();
  return Fsx(spec, seed).run();
}

}  // namespace racerig::agent
