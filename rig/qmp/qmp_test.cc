// QMP without QEMU: decoding QEMU 7.2's own lines, and the client against a
// scripted peer on a socket pair (ids, events, late replies, long replies).
#include "rig/qmp/qmp.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace racerig::qmp {
namespace {

using nlohmann::json;

Deadline soon() { return Deadline::after(std::chrono::seconds(10)); }

TEST(Qmp, DecodesQemusMessages) {
  auto g = decode_message(
      R"({"QMP": {"version": {"qemu": {"micro": 19, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18"}, "capabilities": ["oob"]}})");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->kind, Message::Kind::kGreeting);
  EXPECT_EQ(g->value["version"]["qemu"]["major"], 7);
  auto r = decode_message(R"({"return": {"status": "paused", "singlestep": false, "running": false}, "id": 4})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, Message::Kind::kReturn);
  EXPECT_EQ(r->value["status"], "paused");
  EXPECT_EQ(r->id, json(4));
  auto e = decode_message(R"({"id": 5, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, Message::Kind::kError);
  EXPECT_EQ(e->text, "CommandNotFound: The command nope has not been found");
  auto ev = decode_message(
      R"({"timestamp": {"seconds": 1764021000, "microseconds": 5}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}})");
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->kind, Message::Kind::kEvent);
  EXPECT_EQ(ev->text, "SHUTDOWN");
  EXPECT_FALSE(ev->id.has_value());
}

TEST(Qmp, UnicodeEscapesBecomeUtf8) {
  auto r = decode_message(R"({"return": "caf\u00e9 \u2019q\u2019 \ud83d\ude00"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->value.get<std::string>(), "caf\xc3\xa9 \xe2\x80\x99q\xe2\x80\x99 \xf0\x9f\x98\x80");
  EXPECT_EQ(json_string(R"("\u00e9")").value(), "\xc3\xa9");
  EXPECT_EQ(json_quote("a\"b\\\n\xc3\xa9"), "\"a\\\"b\\\\\\n\xc3\xa9\"");
  EXPECT_EQ(json_string(json_quote("savevm \xc3\xa9t\xc3\xa9")).value(), "savevm \xc3\xa9t\xc3\xa9");
}

TEST(Qmp, NumbersEndWhereverJsonSaysTheyEnd) {
  // A number directly before a newline, a tab or the end of the text.
  for (const char* text : {"{\"return\": {\"actual\": 1073741824\n}}", "{\"return\": 42\t}", "{\"return\": 42}",
                           "{\"return\": {\"a\": [1,2\n,3]}, \"id\": 7\n}"}) {
    auto r = decode_message(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(r->kind, Message::Kind::kReturn);
  }
  EXPECT_EQ(decode_message("{\"return\": {\"actual\": 1073741824\n}}")->value["actual"], 1073741824);
}

TEST(Qmp, GarbageIsAnErrorQuotingIt) {
  for (const char* bad : {"", "not json", "{", R"({"return")", R"({"x": 1})", "[1,2]", R"({"a": "unterminated})",
                          R"({"error": "no object"})", R"({"event": 3})", "\xff\xfe"}) {
    auto m = decode_message(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().kind, ErrorKind::kProtocol);
    EXPECT_NE(m.error().message.find("QMP sent"), std::string::npos) << m.error().message;
  }
}

TEST(Qmp, RequestsCarryTheirId) {
  json a = json::parse(encode_request("query-status", nullptr, 3));
  EXPECT_EQ(a, json({{"execute", "query-status"}, {"id", 3}}));
  std::string line = encode_request("human-monitor-command", {{"command-line", "savevm \xc3\xa9"}}, 4);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  EXPECT_EQ(json::parse(line)["arguments"]["command-line"], "savevm \xc3\xa9");
}

// A scripted QMP server on one end of a socket pair: greets, then hands each
// request to `answer`, which writes whatever replies it likes.
class FakeQemu {
 public:
  using Answer = std::function<void(FakeQemu&, const json& request)>;
  explicit FakeQemu(Answer answer) : answer_(std::move(answer)) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_fd_ = ScopedFd(sv[0]);
    peer_ = ScopedFd(sv[1]);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeQemu() {
    ::shutdown(peer_.get(), SHUT_RDWR);
    thread_.join();
  }
  ScopedFd take_client_fd() { return std::move(client_fd_); }
  void send(const std::string& bytes) { ASSERT_EQ(::write(peer_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size())); }
  void reply(const json& request, const json& value) { send(json({{"return", value}, {"id", request["id"]}}).dump() + "\r\n"); }
  std::vector<json> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    send(R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})" "\r\n");
    std::string buffer;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(peer_.get(), buf, sizeof buf)) > 0) {
      buffer.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        json request = json::parse(buffer.substr(0, nl));
        buffer.erase(0, nl + 1);
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(request);
        }
        if (request["execute"] == "qmp_capabilities") reply(request, json::object());
        else answer_(*this, request);
      }
    }
  }

  Answer answer_;
  ScopedFd client_fd_, peer_;
  std::mutex mu_;
  std::vector<json> requests_;
  std::thread thread_;
};

TEST(QmpClient, MatchesRepliesByIdAndKeepsEventsApart) {
  FakeQemu qemu([](FakeQemu& q, const json& request) {
    // An event and a stray answer to some other request come first.
    q.send(R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"})" "\r\n");
    q.send(R"({"return": {"status": "wrong"}, "id": 999})" "\r\n");
    q.reply(request, {{"status", "paused"}, {"running", false}});
  });
  auto c = Client::over(qemu.take_client_fd(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto r = c->execute("query-status", "", soon());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(json::parse(*r)["status"], "paused");
  EXPECT_EQ(c->events(), std::vector<std::string>{"STOP"});
  auto requests = qemu.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0]["id"], requests[1]["id"]);
}

TEST(QmpClient, AReplyOver64KiBArrivesWhole) {
  const std::string big(200 * 1024, 'x');
  FakeQemu qemu([&](FakeQemu& q, const json& request) {
    q.send("{\"return\": \"caf\\u00e9" + big + "\", \"id\": " + request["id"].dump() + "}\r\n");
  });
  auto c = Client::over(qemu.take_client_fd(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto r = c->execute("human-monitor-command", R"({"command-line": "info registers"})", soon());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(json_string(*r).value(), "caf\xc3\xa9" + big);
}

TEST(QmpClient, ALateReplyAfterATimeoutNeverAnswersTheNextCommand) {
  std::mutex mu;
  std::condition_variable seen;
  std::vector<json> unanswered;
  FakeQemu qemu([&](FakeQemu& q, const json& request) {
    if (request["execute"] == "stop") {  // answers too late
      std::lock_guard<std::mutex> lock(mu);
      unanswered.push_back(request);
      seen.notify_all();
      return;
    }
    q.reply(request, {{"status", "running"}});
  });
  auto c = Client::over(qemu.take_client_fd(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto slow = c->execute("stop", "", Deadline::after(std::chrono::milliseconds(50)));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(slow.error().message.find("stop"), std::string::npos) << slow.error().message;
  EXPECT_FALSE(c->broken().empty());
  {
    std::unique_lock<std::mutex> lock(mu);
    seen.wait_for(lock, std::chrono::seconds(10), [&] { return !unanswered.empty(); });
    ASSERT_EQ(unanswered.size(), 1u);
    qemu.reply(unanswered[0], {{"status", "the late answer to stop"}});
  }
  auto next = c->execute("query-status", "", soon());
  ASSERT_FALSE(next.ok()) << "took " << *next;
  EXPECT_NE(next.error().message.find("unusable"), std::string::npos) << next.error().message;
  EXPECT_NE(next.error().message.find("stop"), std::string::npos) << "names the command that timed out";
}

TEST(QmpClient, ErrorsClosedSocketsAndGarbageAreValues) {
  FakeQemu qemu([](FakeQemu& q, const json& request) {
    if (request["execute"] == "nope")
      q.send(json({{"error", {{"class", "CommandNotFound"}, {"desc", "The command nope has not been found"}}},
                   {"id", request["id"]}})
                 .dump() +
             "\n");
    else
      q.send("garbage\n");
  });
  auto c = Client::over(qemu.take_client_fd(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto e = c->execute("nope", "", soon());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(e.error().message.find("CommandNotFound: The command nope has not been found"), std::string::npos);
  EXPECT_TRUE(c->broken().empty()) << "a QMP error reply leaves the connection usable";
  auto g = c->execute("query-status", "", soon());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("\"garbage\""), std::string::npos) << g.error().message;
  EXPECT_FALSE(c->broken().empty());
  auto no_socket = Client::over(ScopedFd(), soon());
  EXPECT_FALSE(no_socket.ok());
}

}  // namespace
}  // namespace racerig::qmp
