// Who a call is: the client identities file (its parse and its checks) and
// the authenticator's rules for certificates, tokens, both and neither.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "rig/service/auth.h"
#include "rig/service/authenticator.h"
#include "rig/service/identities.h"

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

ClientIdentities identities(const std::string& text) {
  auto t = ClientIdentities::parse(text, "ids");
  EXPECT_TRUE(t.ok()) << t.error().message;
  return t.ok() ? std::move(*t) : ClientIdentities();
}

TokenTable tokens(const std::string& text) {
  auto t = TokenTable::parse(text, "tokens");
  EXPECT_TRUE(t.ok()) << t.error().message;
  return t.ok() ? std::move(*t) : TokenTable();
}

TEST(ClientIdentities, ParsesNamesAdminsAndComments) {
  ClientIdentities ids = identities("# who\nalice\n\n  ops   admin  # the on-call\nci-runner.example.org\n");
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.admins(), 1u);
  ASSERT_TRUE(ids.caller_of("ops"));
  EXPECT_TRUE(ids.caller_of("ops")->admin);
  EXPECT_FALSE(ids.caller_of("alice")->admin);
  EXPECT_FALSE(ids.caller_of("mallory"));
  EXPECT_FALSE(ids.caller_of(""));
}

TEST(ClientIdentities, BadLinesNameTheFileAndLine) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"alice\nbob root\n", "ids:2: the second word of \"bob\" is \"root\""},
      {"alice admin extra\n", "ids:1: more than CN [admin]"},
      {"alice\nalice\n", "ids:2: \"alice\" appears twice"},
      {"al\"ice\n", "ids:1: \"al\"ice\" has a character"},
      {"# nobody\n", "ids: no identities"},
  };
  for (const Case& c : cases) {
    auto t = ClientIdentities::parse(c.text, "ids");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.error().message.find(c.says), std::string::npos) << t.error().message;
  }
}

TEST(ClientIdentities, AFileOthersCanChangeIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("racerig-ids-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "identities";
  std::ofstream(file) << "alice\n";
  for (mode_t mode : {0664, 0646, 0666}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    auto t = ClientIdentities::load(file);
    ASSERT_FALSE(t.ok()) << std::oct << mode;
    EXPECT_NE(t.error().message.find("chmod 644"), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find(file.string()), std::string::npos) << t.error().message;
  }
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);  // no secret in it: readable is fine
  auto ok = ClientIdentities::load(file);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->file_name(), file.string());
  fs::remove_all(dir);
}

TEST(Authenticator, AVerifiedCertificateIsItsListedName) {
  ClientIdentities ids = identities("alice\nops admin\n");
  auto auth = Authenticator::make(nullptr, &ids);
  ASSERT_TRUE(auth.ok());
  auto alice = auth->authenticate(Presented{"alice", std::nullopt, false});
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  EXPECT_EQ(alice->name, "alice");
  EXPECT_FALSE(alice->admin);
  auto ops = auth->authenticate(Presented{"ops", std::nullopt, false});
  ASSERT_TRUE(ops.ok());
  EXPECT_TRUE(ops->admin);
  auto mallory = auth->authenticate(Presented{"mallory", std::nullopt, false});
  ASSERT_FALSE(mallory.ok());
  EXPECT_EQ(mallory.error().code, Code::kPermissionDenied);
  EXPECT_NE(mallory.error().message.find("\"mallory\""), std::string::npos);
  auto nameless = auth->authenticate(Presented{"", std::nullopt, false});
  ASSERT_FALSE(nameless.ok());
  EXPECT_EQ(nameless.error().code, Code::kUnauthenticated);
}

TEST(Authenticator, WithoutTokensNoCertificateIsRefusedOverTcpAndLocalOnTheSocket) {
  ClientIdentities ids = identities("alice\n");
  auto auth = Authenticator::make(nullptr, &ids);
  ASSERT_TRUE(auth.ok());
  auto tcp = auth->authenticate(Presented{std::nullopt, std::nullopt, false});
  ASSERT_FALSE(tcp.ok());
  EXPECT_EQ(tcp.error().code, Code::kUnauthenticated);
  EXPECT_NE(tcp.error().message.find("--tls-cert"), std::string::npos) << tcp.error().message;
  // A token means nothing without a tokens file.
  auto tcp_token = auth->authenticate(Presented{std::nullopt, "Bearer 0123456789abcdef-x", false});
  EXPECT_FALSE(tcp_token.ok());
  auto local = auth->authenticate(Presented{std::nullopt, std::nullopt, true});
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->name, "local");
  EXPECT_TRUE(local->admin);
}

TEST(Authenticator, TokensAndCertificatesTogether) {
  ClientIdentities ids = identities("alice\n");
  TokenTable toks = tokens("carol 0123456789abcdef-carol\nalice 0123456789abcdef-alice\n");
  auto auth = Authenticator::make(&toks, &ids);
  ASSERT_TRUE(auth.ok());
  auto carol = auth->authenticate(Presented{std::nullopt, "Bearer 0123456789abcdef-carol", false});
  ASSERT_TRUE(carol.ok());
  EXPECT_EQ(carol->name, "carol");
  auto both = auth->authenticate(Presented{"alice", "Bearer 0123456789abcdef-alice", false});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->name, "alice");
  auto disagree = auth->authenticate(Presented{"alice", "Bearer 0123456789abcdef-carol", false});
  ASSERT_FALSE(disagree.ok());
  EXPECT_EQ(disagree.error().code, Code::kUnauthenticated);
  auto wrong = auth->authenticate(Presented{"alice", "Bearer 0123456789abcdef-wrong", false});
  EXPECT_FALSE(wrong.ok());
  // With tokens, the socket needs one too.
  auto socket = auth->authenticate(Presented{std::nullopt, std::nullopt, true});
  ASSERT_FALSE(socket.ok());
  EXPECT_EQ(socket.error().code, Code::kUnauthenticated);
}

TEST(Authenticator, ANameAdminInOneFileOnlyIsRefused) {
  ClientIdentities ids = identities("alice admin\n");
  TokenTable toks = tokens("alice 0123456789abcdef-alice\n");
  auto auth = Authenticator::make(&toks, &ids);
  ASSERT_FALSE(auth.ok());
  EXPECT_NE(auth.error().message.find("\"alice\" is not an admin in the tokens file but an admin in ids"),
            std::string::npos)
      << auth.error().message;
}

TEST(Authenticator, WithNeitherEveryCallerIsLocal) {
  Authenticator auth(nullptr);
  auto c = auth.authenticate(Presented{std::nullopt, std::nullopt, false});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, "local");
}

}  // namespace
}  // namespace racerig::service
