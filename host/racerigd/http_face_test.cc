// racerigd's web pages in process: a real HTTP server (cpp-httplib) on a
// free port over the real JobService (SQLite store, a fake runner, no
// QEMU), a real HTTP client. Authentication as the gRPC API's: no token
// 401, a wrong one 401, another submitter's job 404 (like a missing one),
// an admin sees everyone's; the ?token= cookie; artifacts as downloads;
// pages that fetch nothing (their Content-Security-Policy).
#include "host/racerigd/http_face.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "rig/service/auth.h"
#include "rig/service/catalog.h"
#include "rig/service/identities.h"
#include "rig/service/job_service.h"
#include "rig/service/sqlite_store.h"
#include "rig/service/worker_pool.h"

namespace racerig::racerigd {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCi = "0123456789abcdef-ci";
constexpr const char* kAlice = "0123456789abcdef-alice";
constexpr const char* kRoot = "0123456789abcdef-root";
constexpr const char* kTokensFile =
    "ci 0123456789abcdef-ci\n"
    "alice 0123456789abcdef-alice\n"
    "root 0123456789abcdef-root admin\n";

// Ends every job at once with a one-run reproduce report whose console
// carries markup.
class InstantRunner : public service::JobRunner {
 public:
  pb::JobState run(pb::Job& job, jobs::JobObserver& observer, std::shared_ptr<process::CancelToken>) override {
    pb::RunReport r;
    r.set_run(1);
    r.set_verdict(pb::REPRODUCED);
    r.set_reason("as expected <b>");
    r.set_console("boot\n<script>alert(1)</script>\n");
    auto* e = r.add_events();
    e->set_actor("faulter");
    e->set_what("held");
    e->set_vcpu(0);
    e->set_t_ms(10);
    observer.run_done("buggy", r);
    auto* rep = job.mutable_reproduce_report();
    rep->set_scenario("xfs-dax-flip-vs-write-fault");
    rep->set_kernel_variant("buggy");
    rep->set_reproduced(1);
    *rep->add_runs() = r;
    job.set_exit_code(0);
    return pb::SUCCEEDED;
  }
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("racerigd-http-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto tokens = service::TokenTable::parse(kTokensFile, "tokens");
    ASSERT_TRUE(tokens.ok()) << tokens.error().message;
    tokens_ = std::make_unique<service::TokenTable>(std::move(*tokens));
    env_.repo_root = RACERIG_SOURCE_DIR;
    env_.cache_root = dir_ / "cache";
    env_.work_dir = dir_ / "work";
    catalog_ = std::make_unique<service::Catalog>(env_);
    auto store = service::SqliteStore::open(dir_ / "racerigd.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    pool_ = std::make_unique<service::WorkerPool>(*store_, runner_, 1);
    service::ServiceOptions options;
    options.jobs_dir = dir_ / "jobs";
    core_ = std::make_unique<service::JobService>(*store_, *pool_, *catalog_, options);
    http_ = std::make_unique<HttpFace>(*core_, service::Authenticator(tokens_.get()), [](const std::string& v) {
      return report::SourceTree{{}, "no source for " + v};
    });
    auto port = http_->start("127.0.0.1:0", HttpTls{});
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    pool_->start();
  }
  void TearDown() override {
    http_.reset();
    pool_->stop();
    core_.reset();
    pool_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  // Submits a reproduce job as `submitter` and waits (30 s at most) for its end.
  std::string finished_job(const std::string& submitter) {
    pb::SubmitRequest r;
    r.mutable_reproduce()->mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault");
    r.mutable_reproduce()->set_kernel("buggy");
    r.mutable_reproduce()->set_runs(1);
    auto job = core_->submit(r, submitter);
    EXPECT_TRUE(job.ok()) << (job.ok() ? "" : job.error().message);
    if (!job.ok()) return "";
    for (int i = 0; i < 3000; ++i) {
      auto now = core_->get(job->id(), service::Caller{submitter, false});
      if (now.ok() && now->state() == pb::SUCCEEDED) return job->id();
      ::usleep(10000);
    }
    ADD_FAILURE() << "job " << job->id() << " did not finish";
    return job->id();
  }
  httplib::Result get(const std::string& path, const std::string& token) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(30));
    if (token.empty()) return c.Get(path);
    return c.Get(path, httplib::Headers{{"Authorization", std::string("Bearer ") + token}});
  }

  fs::path dir_;
  jobs::JobEnv env_;
  std::unique_ptr<service::TokenTable> tokens_;
  std::unique_ptr<service::Catalog> catalog_;
  std::unique_ptr<service::Store> store_;
  InstantRunner runner_;
  std::unique_ptr<service::WorkerPool> pool_;
  std::unique_ptr<service::JobService> core_;
  std::unique_ptr<HttpFace> http_;
  int port_ = 0;
};

TEST_F(HttpTest, WithoutATokenEveryPageIs401) {
  const std::string id = finished_job("ci");
  for (const std::string& path :
       std::vector<std::string>{"/jobs", "/jobs/" + id, "/jobs/" + id + "/artifacts/report.json"}) {
    auto res = get(path, "");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"racerigd\"");
    auto wrong = get(path, "not-a-token-of-ours");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
  }
}

TEST_F(HttpTest, OwnersSeeTheirJobsOthersGet404AdminsSeeAll) {
  const std::string id = finished_job("ci");
  auto own = get("/jobs/" + id, kCi);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
  EXPECT_NE(own->body.find("xfs-dax-flip-vs-write-fault on buggy: 1/1 reproduced"), std::string::npos);
  EXPECT_NE(own->body.find("run 1: REPRODUCED — as expected &lt;b&gt;"), std::string::npos);
  EXPECT_NE(own->body.find("data-actor=\"faulter\""), std::string::npos);
  EXPECT_EQ(own->body.find("<script>alert"), std::string::npos) << "the console is escaped";
  EXPECT_NE(own->body.find("&lt;script&gt;alert(1)"), std::string::npos) << "the console, from report.json, in full";
  EXPECT_NE(own->get_header_value("Content-Security-Policy").find("default-src 'none'"), std::string::npos);

  auto other = get("/jobs/" + id, kAlice);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto missing = get("/jobs/no-such-job", kAlice);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(other->body.size() > 0, true);
  auto other_artifact = get("/jobs/" + id + "/artifacts/runs/1/console", kAlice);
  ASSERT_TRUE(other_artifact);
  EXPECT_EQ(other_artifact->status, 404);
  // The list: alice sees none of ci's jobs; root (admin) does.
  auto alice_list = get("/jobs", kAlice);
  ASSERT_TRUE(alice_list);
  EXPECT_EQ(alice_list->status, 200);
  EXPECT_EQ(alice_list->body.find("/jobs/" + id + "\""), std::string::npos);
  EXPECT_NE(alice_list->body.find("<p class=\"count\">0 jobs</p>"), std::string::npos);
  auto root_list = get("/jobs", kRoot);
  ASSERT_TRUE(root_list);
  EXPECT_NE(root_list->body.find("/jobs/" + id), std::string::npos);
  auto root_job = get("/jobs/" + id, kRoot);
  ASSERT_TRUE(root_job);
  EXPECT_EQ(root_job->status, 200);
}

TEST_F(HttpTest, TheListFiltersByStateKindAndSubmitter) {
  const std::string a = finished_job("ci"), b = finished_job("alice");
  auto all = get("/jobs", kRoot);
  ASSERT_TRUE(all);
  EXPECT_NE(all->body.find("<p class=\"count\">2 jobs</p>"), std::string::npos);
  auto by_alice = get("/jobs?submitter=alice", kRoot);
  ASSERT_TRUE(by_alice);
  EXPECT_NE(by_alice->body.find("/jobs/" + b), std::string::npos);
  EXPECT_EQ(by_alice->body.find("/jobs/" + a), std::string::npos);
  auto running = get("/jobs?state=RUNNING", kRoot);
  ASSERT_TRUE(running);
  EXPECT_NE(running->body.find("<p class=\"count\">0 jobs</p>"), std::string::npos);
  auto validate = get("/jobs?kind=VALIDATE&state=SUCCEEDED", kRoot);
  ASSERT_TRUE(validate);
  EXPECT_NE(validate->body.find("<p class=\"count\">0 jobs</p>"), std::string::npos);
  auto reproduce = get("/jobs?kind=REPRODUCE&state=SUCCEEDED", kRoot);
  ASSERT_TRUE(reproduce);
  EXPECT_NE(reproduce->body.find("<p class=\"count\">2 jobs</p>"), std::string::npos);
}

TEST_F(HttpTest, ATokenInTheAddressBecomesACookie) {
  const std::string id = finished_job("ci");
  httplib::Client c("127.0.0.1", port_);
  auto first = c.Get("/jobs/" + id + "?token=" + kCi);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 303);
  EXPECT_EQ(first->get_header_value("Location"), "/jobs/" + id);
  const std::string set = first->get_header_value("Set-Cookie");
  EXPECT_EQ(set.rfind(std::string("racerig_token=") + kCi + "; Path=/; HttpOnly; SameSite=Strict", 0), 0u) << set;
  auto again = c.Get("/jobs/" + id, httplib::Headers{{"Cookie", std::string("x=1; racerig_token=") + kCi}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpTest, ArtifactsAreDownloadsNeverPages) {
  const std::string id = finished_job("ci");
  auto console = get("/jobs/" + id + "/artifacts/runs/1/console", kCi);
  ASSERT_TRUE(console);
  EXPECT_EQ(console->status, 200);
  EXPECT_EQ(console->body, "boot\n<script>alert(1)</script>\n");
  EXPECT_EQ(console->get_header_value("Content-Type"), "application/octet-stream");
  EXPECT_EQ(console->get_header_value("Content-Disposition"), "attachment; filename=\"" + id + "-runs_1_console\"");
  EXPECT_EQ(console->get_header_value("X-Content-Type-Options"), "nosniff");
  auto none = get("/jobs/" + id + "/artifacts/runs/9/console", kCi);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  // Only GET.
  httplib::Client c("127.0.0.1", port_);
  auto post = c.Post("/jobs", httplib::Headers{{"Authorization", std::string("Bearer ") + kCi}}, "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(HttpTest, BadAddressesAreRefused) {
  HttpFace other(*core_, service::Authenticator(tokens_.get()), nullptr);
  for (const char* addr : {"nope", ":80", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:8x"}) {
    auto r = other.start(addr, HttpTls{});
    ASSERT_FALSE(r.ok()) << addr;
    EXPECT_EQ(r.error().kind, ErrorKind::kInput) << addr;
  }
  auto tls = HttpFace(*core_, service::Authenticator(tokens_.get()), nullptr)
                 .start("127.0.0.1:0", HttpTls{(dir_ / "missing.pem").string(), (dir_ / "missing.key").string(), ""});
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.error().message.find("missing.pem does not load"), std::string::npos) << tls.error().message;
}

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// HTTPS as for gRPC: the server's certificate, a token or a client
// certificate of the CA --tls-client-ca names (its CN looked up in the
// identities), and a browser without a certificate still let in by its token.
TEST_F(HttpTest, OverTlsATokenOrAClientCertificateSignsIn) {
  const std::string d = dir_.string() + "/";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  std::ofstream(d + "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  std::ofstream(d + "client.ext") << "extendedKeyUsage=clientAuth\n";
  auto sign = [&](const std::string& name, const std::string& subject, const std::string& ext) {
    return sh("openssl req" + ec + "-keyout " + d + name + ".key -out " + d + name + ".csr -subj " + subject) &&
           sh("openssl x509 -req -in " + d + name + ".csr -CA " + d + "ca.pem -CAkey " + d +
              "ca.key -CAcreateserial -days 2 -out " + d + name + ".pem -extfile " + d + ext);
  };
  ASSERT_TRUE(sh("openssl req -x509" + ec + "-keyout " + d + "ca.key -out " + d +
                 "ca.pem -days 2 -subj /CN=ca -addext basicConstraints=critical,CA:TRUE "
                 "-addext keyUsage=critical,keyCertSign,cRLSign") &&
              sign("server", "/CN=localhost", "server.ext") && sign("alice", "/CN=alice", "client.ext") &&
              sign("mallory", "/CN=mallory", "client.ext"))
      << "openssl could not make the test certificates in " << dir_;
  auto identities = service::ClientIdentities::parse("alice\n", "identities");
  ASSERT_TRUE(identities.ok()) << identities.error().message;
  auto auth = service::Authenticator::make(tokens_.get(), &*identities);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  HttpFace tls(*core_, *auth, nullptr);
  auto port = tls.start("127.0.0.1:0", HttpTls{d + "server.pem", d + "server.key", d + "ca.pem"});
  ASSERT_TRUE(port.ok()) << port.error().message;
  finished_job("alice");

  httplib::SSLClient anonymous("127.0.0.1", *port);
  anonymous.set_ca_cert_path((d + "ca.pem").c_str());
  anonymous.enable_server_certificate_verification(true);
  auto none = anonymous.Get("/jobs");
  ASSERT_TRUE(none) << "the handshake without a client certificate: " << httplib::to_string(none.error());
  EXPECT_EQ(none->status, 401);
  auto token = anonymous.Get("/jobs", httplib::Headers{{"Authorization", std::string("Bearer ") + kCi}});
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 200);
  EXPECT_NE(token->body.find("signed in as ci"), std::string::npos);

  httplib::SSLClient alice("127.0.0.1", *port, d + "alice.pem", d + "alice.key");
  alice.set_ca_cert_path((d + "ca.pem").c_str());
  alice.enable_server_certificate_verification(true);
  auto mine = alice.Get("/jobs");
  ASSERT_TRUE(mine) << httplib::to_string(mine.error());
  EXPECT_EQ(mine->status, 200);
  EXPECT_NE(mine->body.find("signed in as alice"), std::string::npos);
  EXPECT_NE(mine->body.find("<p class=\"count\">1 job</p>"), std::string::npos);

  // A certificate of the CA whose CN the identities do not list: 403.
  httplib::SSLClient mallory("127.0.0.1", *port, d + "mallory.pem", d + "mallory.key");
  mallory.set_ca_cert_path((d + "ca.pem").c_str());
  auto refused = mallory.Get("/jobs");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);

  // Plain HTTP to the TLS port gets no page.
  httplib::Client plain("127.0.0.1", *port);
  plain.set_read_timeout(std::chrono::seconds(10));
  auto clear = plain.Get("/jobs", httplib::Headers{{"Authorization", std::string("Bearer ") + kCi}});
  EXPECT_TRUE(!clear || clear->status != 200);
}

}  // namespace
}  // namespace racerig::racerigd
