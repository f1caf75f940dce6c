// racerigd's mutual TLS on a real TCP listener (127.0.0.1, an ephemeral
// port) with the daemon's own credentials (tls.h), adapter and
// authenticator, and the racerig client's Connection: a certificate from
// the configured CA is its subject CN's identity (its jobs are its own), and
// no certificate, one from another CA, or an unlisted CN is refused. The
// certificates are made by the openssl CLI in a temporary directory.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "host/client/connection.h"
#include "host/racerigd/service_adapter.h"
#include "host/racerigd/tls.h"
#include "rig/service/auth.h"
#include "rig/service/authenticator.h"
#include "rig/service/catalog.h"
#include "rig/service/identities.h"
#include "rig/service/job_service.h"
#include "rig/service/runner.h"
#include "rig/service/sqlite_store.h"
#include "rig/service/worker_pool.h"

namespace racerig::racerigd {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPatch = "--- a/fs/xfs/xfs_file.c\n+++ b/fs/xfs/xfs_file.c\n@@ -1,1 +1,1 @@\n-a\n+b\n";
constexpr const char* kIdentities = "# CNs\nalice\nbob\nops admin\n";
constexpr const char* kTokens = "carol 0123456789abcdef-carol\n";

// Never runs a job: the pool is not started, so jobs stay queued (who owns
// them is what these tests look at).
class IdleRunner : public service::JobRunner {
 public:
  pb::JobState run(pb::Job&, jobs::JobObserver&, std::shared_ptr<process::CancelToken>) override {
    return pb::FAILED;
  }
};

// `cmd` through the shell; true when it exited 0.
bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// The certificates: a CA, a server certificate for 127.0.0.1 signed by it,
// client certificates signed by it (alice, bob, ops, mallory, one without a
// CN), and alice's twin signed by another CA.
class Certificates {
 public:
  explicit Certificates(const fs::path& dir) : dir_(dir) {}
  bool make() {
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    const std::string d = dir_.string() + "/";
    for (const char* ca : {"ca", "other-ca"})
      if (!sh("openssl req -x509" + ec + "-keyout " + d + ca + ".key -out " + d + ca + ".pem -days 2 -subj /CN=" +
              ca + " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"))
        return false;
    std::ofstream(d + "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    std::ofstream(d + "client.ext") << "extendedKeyUsage=clientAuth\n";
    return sign("server", "/CN=localhost", "ca", "server.ext") && sign("alice", "/CN=alice", "ca", "client.ext") &&
           sign("bob", "/CN=bob", "ca", "client.ext") && sign("ops", "/CN=ops", "ca", "client.ext") &&
           sign("mallory", "/CN=mallory", "ca", "client.ext") && sign("nocn", "/O=racerig", "ca", "client.ext") &&
           sign("alice-other", "/CN=alice", "other-ca", "client.ext");
  }
  std::string pem(const std::string& name) const { return (dir_ / (name + ".pem")).string(); }
  std::string key(const std::string& name) const { return (dir_ / (name + ".key")).string(); }

 private:
  bool sign(const std::string& name, const std::string& subject, const std::string& ca, const std::string& ext) {
    const std::string d = dir_.string() + "/";
    return sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d + name +
              ".key -out " + d + name + ".csr -subj " + subject) &&
           sh("openssl x509 -req -in " + d + name + ".csr -CA " + d + ca + ".pem -CAkey " + d + ca +
              ".key -CAcreateserial -days 2 -out " + d + name + ".pem -extfile " + d + ext);
  }
  fs::path dir_;
};

class MutualTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_dir_ = fs::temp_directory_path() / ("racerigd-mtls-certs-" + std::to_string(::getpid()));
    fs::remove_all(certs_dir_);
    fs::create_directories(certs_dir_);
    certs_ = new Certificates(certs_dir_);
    made_ = certs_->make();
  }
  static void TearDownTestSuite() {
    delete certs_;
    fs::remove_all(certs_dir_);
  }
  void SetUp() override {
    ASSERT_TRUE(made_) << "openssl could not make the test certificates in " << certs_dir_;
    dir_ = fs::temp_directory_path() / ("racerigd-mtls-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    env_.repo_root = RACERIG_SOURCE_DIR;
    env_.cache_root = dir_ / "cache";
    env_.work_dir = dir_ / "work";
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    adapter_.reset();
    core_.reset();
    pool_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  // A racerigd on 127.0.0.1:0 with mutual TLS (the test CA), the identities
  // above and, with `with_tokens`, a tokens file naming carol.
  void start(bool with_tokens = false) {
    auto identities = service::ClientIdentities::parse(kIdentities, "identities");
    ASSERT_TRUE(identities.ok()) << identities.error().message;
    identities_ = std::make_unique<service::ClientIdentities>(std::move(*identities));
    if (with_tokens) {
      auto tokens = service::TokenTable::parse(kTokens, "tokens");
      ASSERT_TRUE(tokens.ok()) << tokens.error().message;
      tokens_ = std::make_unique<service::TokenTable>(std::move(*tokens));
    }
    auto auth = service::Authenticator::make(tokens_.get(), identities_.get());
    ASSERT_TRUE(auth.ok()) << auth.error().message;
    auto store = service::SqliteStore::open(dir_ / "racerigd.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    catalog_ = std::make_unique<service::Catalog>(env_);
    pool_ = std::make_unique<service::WorkerPool>(*store_, runner_, 1);
    service::ServiceOptions options;
    options.max_queued = 10;
    options.jobs_dir = dir_ / "jobs";
    core_ = std::make_unique<service::JobService>(*store_, *pool_, *catalog_, options);
    adapter_ = std::make_unique<RaceRigService>(*core_, *auth);
    auto creds = tls_server_credentials({certs_->pem("server"), certs_->key("server"), certs_->pem("ca")});
    ASSERT_TRUE(creds.ok()) << creds.error().message;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(adapter_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    ASSERT_GT(port_, 0);
  }
  // The racerig client's connection with `cert`'s certificate ("": none),
  // checking the server against `roots`.
  client::Connection connect(const std::string& cert, const std::string& roots = "ca",
                             const std::string& token_file = "") {
    client::ServerOptions o;
    o.server = "127.0.0.1:" + std::to_string(port_);
    o.tls_ca = certs_->pem(roots);
    if (!cert.empty()) {
      o.tls_cert = certs_->pem(cert);
      o.tls_key = certs_->key(cert);
    }
    if (!token_file.empty()) o.token_file = token_file;
    auto c = client::Connection::open(o);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(*c);
  }
  static pb::SubmitRequest request() {
    pb::SubmitRequest r;
    auto* v = r.mutable_validate();
    auto* p = v->add_patches();
    p->set_name("fix.patch");
    p->set_content(kPatch);
    v->add_scenarios()->set_name("xfs-dax-flip-vs-write-fault");
    v->set_runs(1);
    return r;
  }
  grpc::Status submit(client::Connection& c, pb::Job* out) {
    auto ctx = c.context(30);
    return c.stub().Submit(ctx.get(), request(), out);
  }
  std::vector<std::string> listed(client::Connection& c) {
    auto ctx = c.context(30);
    pb::ListJobsResponse resp;
    grpc::Status st = c.stub().ListJobs(ctx.get(), pb::ListJobsRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> ids;
    for (const auto& j : resp.jobs()) ids.push_back(j.id() + ":" + j.submitter());
    return ids;
  }
  int stored_jobs() {
    auto all = store_->list({}, std::nullopt, 0, 100);
    EXPECT_TRUE(all.ok());
    return all.ok() ? static_cast<int>(all->size()) : -1;
  }

  static inline fs::path certs_dir_;
  static inline Certificates* certs_ = nullptr;
  static inline bool made_ = false;
  fs::path dir_;
  jobs::JobEnv env_;
  IdleRunner runner_;
  int port_ = 0;
  std::unique_ptr<service::ClientIdentities> identities_;
  std::unique_ptr<service::TokenTable> tokens_;
  std::unique_ptr<service::Store> store_;
  std::unique_ptr<service::Catalog> catalog_;
  std::unique_ptr<service::WorkerPool> pool_;
  std::unique_ptr<service::JobService> core_;
  std::unique_ptr<RaceRigService> adapter_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(MutualTlsTest, ACertificateFromTheCaIsItsSubjectsIdentity) {
  start();
  client::Connection alice = connect("alice");
  pb::Job job;
  grpc::Status st = submit(alice, &job);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_EQ(job.submitter(), "alice");
  EXPECT_EQ(listed(alice), std::vector<std::string>{job.id() + ":alice"});

  // bob (listed, not an admin) does not see alice's job; ops (admin) does.
  client::Connection bob = connect("bob");
  EXPECT_TRUE(listed(bob).empty());
  auto ctx = bob.context(30);
  pb::GetJobRequest get;
  get.set_id(job.id());
  pb::Job seen;
  EXPECT_EQ(bob.stub().GetJob(ctx.get(), get, &seen).error_code(), grpc::StatusCode::NOT_FOUND);
  client::Connection ops = connect("ops");
  EXPECT_EQ(listed(ops), std::vector<std::string>{job.id() + ":alice"});
  pb::Job bobs;
  ASSERT_TRUE(submit(bob, &bobs).ok());
  EXPECT_EQ(bobs.submitter(), "bob");
}

TEST_F(MutualTlsTest, AClientWithoutACertificateIsRefused) {
  start();
  client::Connection anonymous = connect("");
  pb::Job job;
  grpc::Status st = submit(anonymous, &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_NE(st.error_message().find("no client certificate"), std::string::npos) << st.error_message();
  EXPECT_EQ(stored_jobs(), 0);
}

TEST_F(MutualTlsTest, ACertificateFromAnotherCaIsRefused) {
  start();
  // Same CN as a listed identity, but not issued by the configured CA: the
  // TLS handshake fails, so no call gets through.
  client::Connection forged = connect("alice-other");
  pb::Job job;
  grpc::Status st = submit(forged, &job);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_EQ(stored_jobs(), 0);
}

TEST_F(MutualTlsTest, AnUnlistedOrNamelessCertificateIsPermissionDeniedOrUnauthenticated) {
  start();
  client::Connection mallory = connect("mallory");
  pb::Job job;
  grpc::Status st = submit(mallory, &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("\"mallory\" is not listed"), std::string::npos) << st.error_message();
  client::Connection nameless = connect("nocn");
  st = submit(nameless, &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_NE(st.error_message().find("no subject CN"), std::string::npos) << st.error_message();
  EXPECT_EQ(stored_jobs(), 0);
}

TEST_F(MutualTlsTest, WithTokensTooAClientWithoutACertificateUsesItsToken) {
  start(/*with_tokens=*/true);
  const fs::path carol_token = dir_ / "carol.token", wrong_token = dir_ / "wrong.token";
  std::ofstream(carol_token) << "0123456789abcdef-carol\n";
  std::ofstream(wrong_token) << "0123456789abcdef-nobody\n";
  client::Connection carol = connect("", "ca", carol_token.string());
  pb::Job job;
  grpc::Status st = submit(carol, &job);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(job.submitter(), "carol");
  // Neither a certificate nor a known token: refused, saying both ways in.
  client::Connection nobody = connect("", "ca", wrong_token.string());
  st = submit(nobody, &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  client::Connection none = connect("");
  st = submit(none, &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("no client certificate and no"), std::string::npos) << st.error_message();
  // A certificate with another name's token: the two disagree, refused.
  client::Connection mixed = connect("alice", "ca", carol_token.string());
  st = submit(mixed, &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_EQ(stored_jobs(), 1);
}

TEST(ClientTlsOptions, ACertificateNeedsItsKeyAndTheServersRoots) {
  client::ServerOptions o;
  o.server = "127.0.0.1:1";
  o.tls_cert = "/nonexistent/alice.pem";
  auto c = client::Connection::open(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("--tls-cert and --tls-key go together"), std::string::npos) << c.error().message;
  o.tls_key = "/nonexistent/alice.key";
  c = client::Connection::open(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("without --tls-ca"), std::string::npos) << c.error().message;
}

TEST(ServerTls, UnreadableOrNonPemFilesAreRefusedNamingTheOption) {
  const fs::path dir = fs::temp_directory_path() / ("racerigd-tls-files-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "garbage.pem") << "not a certificate\n";
  auto r = tls_server_credentials({(dir / "garbage.pem").string(), (dir / "garbage.pem").string(), ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--tls-cert"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("no PEM block"), std::string::npos) << r.error().message;
  r = tls_server_credentials({(dir / "missing.pem").string(), (dir / "garbage.pem").string(), ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing.pem"), std::string::npos) << r.error().message;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace racerig::racerigd
