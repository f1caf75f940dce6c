// Tests of the guest's serial ports (guest_ports.h) against a fake QEMU: a
// thread that opens the console's FIFO and connects to the agent socket as
// QEMU does, and floods the console.
#include "rig/machine/guest_ports.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace racerig::machine {
namespace {

namespace fs = std::filesystem;

int connect_to(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A scratch run dir with the ports made in it; removed after the test.
class GuestPortsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/racerig-ports-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto ports = GuestPorts::listen(dir_);
    ASSERT_TRUE(ports.ok()) << ports.error().message;
    ports_.emplace(std::move(*ports));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Reads as a run does until QEMU closed both ports or `within` passed;
  // `on_lines` gets each batch of whole console lines.
  void read_until_closed(std::chrono::seconds within, const std::function<void(std::vector<std::string>)>& on_lines) {
    const Deadline deadline = Deadline::after(within);
    while (!ports_->both_closed() && !deadline.expired()) {
      epoll_event ev;
      (void)::epoll_wait(ports_->event_fd(), &ev, 1, 100);
      ports_->drain();
      on_lines(ports_->take_console_lines());
    }
  }

  fs::path dir_;
  std::optional<GuestPorts> ports_;
};

// An untrusted kernel prints 200 MiB to its console: racerig keeps the first
// and the last MiB with a line saying how many bytes were cut, reading it
// all through the same path a run uses (FIFO, line buffer, bounded log).
TEST_F(GuestPortsTest, A200MibConsoleKeepsItsHeadAndTailOnly) {
  std::optional<GuestPorts>& ports = ports_;
  constexpr uint64_t kTotal = uint64_t{200} << 20;
  std::thread qemu([&] {
    int console = ::open((dir_ / "console.out").c_str(), O_RDWR | O_CLOEXEC);  // as QEMU's pipe chardev
    int agent = connect_to(ports->agent_path());
    std::string block;
    for (int i = 0; i < 1024; ++i) block += std::string(63, 'k') + "\n";  // 64 KiB of lines
    for (uint64_t sent = 0; console >= 0 && sent < kTotal;) {
      ssize_t n = ::write(console, block.data(), block.size());
      if (n <= 0) break;
      sent += static_cast<uint64_t>(n);
    }
    ::close(console);
    ::close(agent);
  });
  Status accepted = ports->accept(Deadline::after(std::chrono::seconds(30)), [] { return std::string(); }, {});
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  size_t lines = 0;
  // What a run's judge reads, line by line.
  read_until_closed(std::chrono::seconds(120), [&](std::vector<std::string> batch) { lines += batch.size(); });
  qemu.join();
  EXPECT_TRUE(ports->both_closed()) << "the flood was not read within 120 s";
  EXPECT_EQ(ports->console_mark(), kTotal);
  EXPECT_EQ(lines, kTotal / 64);
  const std::string& kept = ports->console_log();
  EXPECT_LE(kept.size(), BoundedLog::kDefaultHead + BoundedLog::kDefaultTail + 64);
  const uint64_t cut = kTotal - (BoundedLog::kDefaultHead + BoundedLog::kDefaultTail);
  EXPECT_NE(kept.find(BoundedLog::cut_line(cut)), std::string::npos) << kept.substr(BoundedLog::kDefaultHead, 200);
}

// QEMU's UART writes the console one byte per write. Through the console
// pipe, 256 KiB of such writes go in while racerig reads nothing (a UNIX
// socket refuses more after about 280), and every byte arrives in order. The
// FIFO without a writer yet is not the console's end; the writer closing it is.
TEST_F(GuestPortsTest, APipeConsoleTakesAQuarterMibOfSingleByteWritesUnread) {
  std::optional<GuestPorts>& ports = ports_;
  int agent = connect_to(ports->agent_path());
  ASSERT_GE(agent, 0);
  Status accepted = ports->accept(Deadline::after(std::chrono::seconds(30)), [] { return std::string(); }, {});
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  ports->drain();  // QEMU has not opened the FIFO yet

  // As QEMU's pipe chardev opens it: read-write, non-blocking.
  int console = ::open((dir_ / "console.out").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(console, 0);
  constexpr size_t kTotal = 256 << 10;
  std::string expected;
  for (size_t i = 0; i < kTotal / 64; ++i) expected += std::to_string(100000 + i) + std::string(57, 'c') + "\n";
  ASSERT_EQ(expected.size(), kTotal);
  size_t refused = 0;
  for (char c : expected)
    if (::write(console, &c, 1) != 1) ++refused;
  EXPECT_EQ(refused, 0u) << "single-byte writes the console refused while unread";
  ::close(console);
  ::close(agent);

  std::string got;
  read_until_closed(std::chrono::seconds(60), [&](std::vector<std::string> batch) {
    for (const std::string& line : batch) got += line + "\n";
  });
  EXPECT_TRUE(ports->both_closed()) << "the console's end was not seen";
  EXPECT_EQ(ports->console_mark(), kTotal);
  EXPECT_TRUE(got == expected) << "the console's bytes differ from what was written (" << got.size() << " bytes read)";
}

}  // namespace
}  // namespace racerig::machine
