// racerigd's service through an in-process gRPC channel, with a fake job
// runner (no QEMU): submit, watch and resume, idempotent request ids, auth,
// who sees which jobs (owner, other submitter, admin), the queue bound,
// request checks naming fields, cancel, restart recovery.
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "proto/google/rpc/error_details.pb.h"
#include "proto/google/rpc/status.pb.h"
#include "host/racerigd/service_adapter.h"
#include "rig/jobs/explore_job.h"
#include "rig/jobs/stress_job.h"
#include "rig/service/auth.h"
#include "rig/service/catalog.h"
#include "rig/service/job_service.h"
#include "rig/service/sqlite_store.h"
#include "rig/service/worker_pool.h"

namespace racerig::racerigd {
namespace {

namespace fs = std::filesystem;
using service::SqliteStore;
using service::Store;

constexpr const char* kToken = "0123456789abcdef-ci";          // "ci"
constexpr const char* kOtherToken = "0123456789abcdef-alice";  // "alice"
constexpr const char* kAdminToken = "0123456789abcdef-root";   // "root", admin
constexpr const char* kTokensFile =
    "# CI\n"
    "ci 0123456789abcdef-ci\n"
    "alice 0123456789abcdef-alice   # a developer\n"
    "root 0123456789abcdef-root admin\n";
constexpr const char* kPatch = "--- a/fs/xfs/xfs_file.c\n+++ b/fs/xfs/xfs_file.c\n@@ -1,1 +1,1 @@\n-a\n+b\n";

// A reproduce job's second run's console: past gRPC's 4 MiB default.
constexpr size_t kBigConsole = size_t{5} << 20;

// A runner that reports what the request asked for. While `hold` is set,
// runs wait (for release() or their token) so tests can fill the queue.
// With ignore_cancel, a held run notices its token (cancels_seen) but goes
// on waiting for release and then ends as if nothing happened: a run that
// ended by itself just as the cancel came.
class FakeRunner : public service::JobRunner {
 public:
  pb::JobState run(pb::Job& job, jobs::JobObserver& observer, std::shared_ptr<process::CancelToken> cancel) override {
    bool ignoring = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++started_;
      cv_.notify_all();
      bool seen = false;
      while (hold_ && (ignore_cancel_ || !cancel->cancelled())) {
        if (cancel->cancelled() && !seen) {
          seen = true;
          ++cancels_seen_;
          cv_.notify_all();
        }
        cv_.wait_for(lock, std::chrono::milliseconds(20));
      }
      ignoring = ignore_cancel_;
    }
    if (cancel->cancelled() && !ignoring) return pb::CANCELLED;
    observer.stage("buggy+fix", "applying fix.patch (plain diff)");
    observer.note("validating buggy+fix on buggy (1 runs per kernel)");
    pb::RunReport r;
    r.set_run(1);
    r.set_scenario("xfs-dax-flip-vs-write-fault");
    r.set_verdict(pb::REPRODUCED);
    r.set_console("a long console");
    observer.run_done("buggy (control)", r);
    r.set_verdict(pb::NOT_REPRODUCED);
    observer.run_done("buggy+fix", r);
    if (job.has_validate()) {
      auto* rep = job.mutable_validate_report();
      rep->set_base_variant("buggy");
      auto* v = rep->add_scenarios();
      v->set_scenario("xfs-dax-flip-vs-write-fault");
      v->set_result(pb::FIXED);
    } else if (job.has_stress()) {
      // What the daemon's runner makes of the request: rig/jobs' one conversion.
      auto request = jobs::StressKind::from_wire(job.stress(), fs::temp_directory_path(), run::RunOptions{});
      if (!request.ok()) return pb::FAILED;
      auto* rep = job.mutable_stress_report();
      rep->set_scenario(request->scenario);
      rep->set_kernel_variant(request->kernel);
      auto* run = rep->add_runs();
      run->set_seed(request->seed);
      run->set_verdict(pb::NOT_REPRODUCED);
      rep->set_total(1);
      job.set_exit_code(1);
      ++finished_;
      return pb::SUCCEEDED;
    } else if (job.has_explore()) {
      auto request = jobs::ExploreKind::from_wire(job.explore(), fs::temp_directory_path(), run::RunOptions{});
      if (!request.ok()) return pb::FAILED;
      auto* rep = job.mutable_explore_report();
      rep->set_scenario(request->scenario);
      rep->set_kernel_variant(request->kernel);
      for (int i = 1; i <= request->max_schedules; ++i) {
        auto* s = rep->add_schedules();
        s->set_index(i);
        s->set_held("a");
        s->set_runner("b");
        s->mutable_point()->set_function("__xfs_filemap_fault");
        s->mutable_point()->set_file("fs/xfs/xfs_file.c");
        s->mutable_point()->set_line(1347 + i);
        s->mutable_point()->set_visit(1);
        s->set_verdict(i == 2 ? pb::REPRODUCED : pb::NOT_REPRODUCED);
        observer.note(jobs::schedule_line(*s, request->max_schedules));
      }
      rep->set_total(rep->schedules_size());
      job.set_exit_code(0);
      ++finished_;
      return pb::SUCCEEDED;
    } else {
      // Two runs, the second with a console larger than a gRPC message may be.
      auto* rep = job.mutable_reproduce_report();
      rep->set_reproduced(1);
      rep->add_runs()->set_console("a short console\n");
      rep->add_runs()->set_console(std::string(kBigConsole - 4, 'c') + "END\n");
    }
    job.set_exit_code(0);
    ++finished_;
    return pb::SUCCEEDED;
  }
  void hold(bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  void wait_started(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return started_ >= n; });
  }
  void ignore_cancel(bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    ignore_cancel_ = on;
  }
  // Waits (up to 30 s) until held runs have noticed `n` cancelled tokens.
  bool wait_cancels_seen(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return cancels_seen_ >= n; });
  }
  int started() {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }
  std::atomic<int> finished_{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool ignore_cancel_ = false;
  int started_ = 0;
  int cancels_seen_ = 0;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("racerigd-test-" + std::to_string(::getpid()) + "-" +
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
    start(2);
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir_);
  }
  // `with_tokens` false: a daemon without --tokens (UNIX socket only).
  void start(int max_queued, int workers = 1, bool with_tokens = true) {
    auto store = SqliteStore::open(dir_ / "racerigd.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->recover(3).ok());
    pool_ = std::make_unique<service::WorkerPool>(*store_, runner_, workers);
    if (claim_hook_) pool_->set_claim_hook(claim_hook_);
    pool_->set_job_deadline(job_deadline_);
    pool_->set_max_running_per_submitter(max_running_per_submitter_);
    pool_->set_lease(lease_);
    pool_->set_worker_info("fake", [this] { return held_; });
    service::ServiceOptions options;
    options.max_queued = max_queued;
    options.max_queued_per_submitter = max_queued_per_submitter_;
    options.jobs_dir = dir_ / "jobs";
    core_ = std::make_unique<service::JobService>(*store_, *pool_, *catalog_, options);
    adapter_ = std::make_unique<RaceRigService>(*core_, service::Authenticator(with_tokens ? tokens_.get() : nullptr));
    grpc::ServerBuilder builder;
    builder.RegisterService(adapter_.get());
    server_ = builder.BuildAndStart();
    stub_ = pb::RaceRig::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    pool_->start();
  }
  void stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (pool_) pool_->stop();
    server_.reset();
    adapter_.reset();
    core_.reset();
    pool_.reset();
    store_.reset();
  }
  std::unique_ptr<grpc::ClientContext> ctx(const std::string& token = kToken) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return c;
  }
  static pb::SubmitValidateRequest validate_request(const std::string& id = "") {
    pb::SubmitValidateRequest r;
    r.set_request_id(id);
    auto* p = r.add_patches();
    p->set_name("fix.patch");
    p->set_content(kPatch);
    r.add_scenarios()->set_name("xfs-dax-flip-vs-write-fault");
    r.set_runs(1);
    return r;
  }
  grpc::Status submit(const pb::SubmitValidateRequest& r, pb::Job* out, const std::string& token = kToken) {
    auto c = ctx(token);
    return stub_->SubmitValidate(c.get(), r, out);
  }
  static pb::SubmitRequest stress_request(const std::string& id = "") {
    pb::SubmitRequest r;
    auto* s = r.mutable_stress();
    s->set_request_id(id);
    s->mutable_scenario()->set_name("stress-fsx-vs-dax-flip");
    s->set_kernel("buggy");
    s->set_runs(1);
    s->set_duration_s(5);
    s->set_seed(77);
    return r;
  }
  static pb::SubmitRequest explore_request(const std::string& id = "") {
    pb::SubmitRequest r;
    auto* e = r.mutable_explore();
    e->set_request_id(id);
    e->mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault");
    e->set_kernel("buggy");
    e->set_max_schedules(3);
    return r;
  }
  grpc::Status submit_any(const pb::SubmitRequest& r, pb::Job* out, const std::string& token = kToken) {
    auto c = ctx(token);
    return stub_->Submit(c.get(), r, out);
  }
  // Every event after `after`, up to and including Finished.
  std::vector<pb::JobEvent> watch(const std::string& id, int64_t after, int stop_after = -1,
                                  const std::string& token = kToken) {
    auto c = ctx(token);
    pb::WatchJobRequest req;
    req.set_id(id);
    req.set_after_seq(after);
    auto reader = stub_->WatchJob(c.get(), req);
    std::vector<pb::JobEvent> out;
    pb::JobEvent ev;
    while (reader->Read(&ev)) {
      out.push_back(ev);
      if (static_cast<int>(out.size()) == stop_after) {
        c->TryCancel();
        break;
      }
    }
    (void)reader->Finish();
    return out;
  }

  // WatchJob's final status, with the events it sent in `events`.
  grpc::Status watch_status(const std::string& id, const std::string& token, std::vector<pb::JobEvent>* events,
                            int64_t after = 0) {
    auto c = ctx(token);
    pb::WatchJobRequest req;
    req.set_id(id);
    req.set_after_seq(after);
    auto reader = stub_->WatchJob(c.get(), req);
    pb::JobEvent ev;
    while (reader->Read(&ev)) events->push_back(ev);
    return reader->Finish();
  }
  grpc::Status get_job(const std::string& id, const std::string& token, pb::Job* out) {
    auto c = ctx(token);
    pb::GetJobRequest req;
    req.set_id(id);
    return stub_->GetJob(c.get(), req, out);
  }
  grpc::Status cancel_job(const std::string& id, const std::string& token, pb::Job* out) {
    auto c = ctx(token);
    pb::CancelJobRequest req;
    req.set_id(id);
    return stub_->CancelJob(c.get(), req, out);
  }
  grpc::Status artifacts(const std::string& id, const std::string& token, pb::JobArtifacts* out) {
    auto c = ctx(token);
    pb::GetJobArtifactsRequest req;
    req.set_id(id);
    return stub_->GetJobArtifacts(c.get(), req, out);
  }
  static pb::SubmitRequest reproduce_request(const std::string& id = "") {
    pb::SubmitRequest r;
    auto* e = r.mutable_reproduce();
    e->set_request_id(id);
    e->mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault");
    e->set_kernel("buggy");
    e->set_runs(1);
    return r;
  }
  // ReadArtifact's chunks, and its final status.
  grpc::Status read_artifact(const std::string& id, const std::string& name, const std::string& token,
                             std::vector<pb::ArtifactChunk>* chunks) {
    auto c = ctx(token);
    pb::ReadArtifactRequest req;
    req.set_id(id);
    req.set_name(name);
    auto reader = stub_->ReadArtifact(c.get(), req);
    pb::ArtifactChunk chunk;
    while (reader->Read(&chunk)) chunks->push_back(chunk);
    return reader->Finish();
  }
  // The chunks joined, after checking that they follow each other.
  static std::string joined(const std::vector<pb::ArtifactChunk>& chunks) {
    std::string out;
    for (const auto& ch : chunks) {
      EXPECT_EQ(ch.offset(), static_cast<int64_t>(out.size()));
      EXPECT_LE(ch.data().size(), size_t{1} << 20);
      EXPECT_EQ(ch.total_size(), chunks.back().offset() + static_cast<int64_t>(chunks.back().data().size()));
      out += ch.data();
    }
    return out;
  }
  // The ids ListJobs gives `token`, newest first, following every page.
  std::vector<std::string> listed(const std::string& token, int page_size = 0) {
    std::vector<std::string> ids;
    pb::ListJobsRequest req;
    req.set_page_size(page_size);
    for (int pages = 0; pages < 100; ++pages) {
      auto c = ctx(token);
      pb::ListJobsResponse resp;
      grpc::Status st = stub_->ListJobs(c.get(), req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      for (const auto& j : resp.jobs()) ids.push_back(j.id());
      if (!st.ok() || resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return ids;
  }

  // The stored events of a job, from the fixture's store.
  std::vector<pb::JobEvent> stored_events(const std::string& id) {
    auto events = store_->events_after(id, 0, 1000);
    EXPECT_TRUE(events.ok()) << events.error().message;
    return events.ok() ? *events : std::vector<pb::JobEvent>();
  }
  pb::Job stored_job(const std::string& id) {
    auto job = store_->get(id);
    EXPECT_TRUE(job.ok() && *job) << id;
    return job.ok() && *job ? **job : pb::Job();
  }

  fs::path dir_;
  jobs::JobEnv env_;
  std::function<void(const pb::Job&)> claim_hook_;  // given to the pool by start()
  FakeRunner runner_;
  std::chrono::milliseconds job_deadline_{0};  // the pool's, from the next start()
  int max_queued_per_submitter_ = 0;           // the service's, from the next start()
  int max_running_per_submitter_ = 0;          // the pool's, from the next start()
  std::chrono::milliseconds lease_{30000};     // the pool's, from the next start()
  std::vector<std::string> held_;              // the kernel keys the pool's cache holds
  std::unique_ptr<service::TokenTable> tokens_;
  std::unique_ptr<service::Catalog> catalog_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<service::WorkerPool> pool_;
  std::unique_ptr<service::JobService> core_;
  std::unique_ptr<RaceRigService> adapter_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::RaceRig::Stub> stub_;
};

TEST_F(ServiceTest, SubmitThenWatchGivesProgressAndTheReport) {
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  EXPECT_EQ(job.state(), pb::QUEUED);
  EXPECT_EQ(job.submitter(), "ci");
  auto events = watch(job.id(), 0);
  ASSERT_GE(events.size(), 6u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq(), static_cast<int64_t>(i + 1));
  EXPECT_TRUE(events.front().has_queued());
  EXPECT_TRUE(events[1].has_started());
  EXPECT_TRUE(events[2].has_kernel_stage());
  ASSERT_TRUE(events[4].has_run_finished());
  EXPECT_EQ(events[4].run_finished().label(), "buggy (control)");
  EXPECT_TRUE(events[4].run_finished().report().console().empty()) << "consoles stay in the report, not events";
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& done = events.back().finished().job();
  EXPECT_EQ(done.state(), pb::SUCCEEDED);
  EXPECT_EQ(done.attempt(), 1);
  EXPECT_EQ(done.validate_report().scenarios(0).result(), pb::FIXED);
  EXPECT_TRUE(done.validate().patches(0).content().empty()) << "patch bodies are not echoed";
  EXPECT_EQ(done.validate().patches(0).name(), "fix.patch");

  pb::GetJobRequest get;
  get.set_id(job.id());
  pb::Job fetched;
  auto c = ctx();
  ASSERT_TRUE(stub_->GetJob(c.get(), get, &fetched).ok());
  EXPECT_EQ(fetched.validate_report().scenarios(0).result(), pb::FIXED);
  EXPECT_TRUE(fetched.validate().patches(0).content().empty()) << "patch bodies are not echoed";

  pb::GetJobArtifactsRequest areq;
  areq.set_id(job.id());
  pb::JobArtifacts art;
  auto c2 = ctx();
  ASSERT_TRUE(stub_->GetJobArtifacts(c2.get(), areq, &art).ok());
  EXPECT_NE(art.json().find("\"FIXED\""), std::string::npos);
  EXPECT_NE(art.junit_xml().find("<testsuite"), std::string::npos);
}

TEST_F(ServiceTest, WatchResumesFromASequenceNumber) {
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  auto all = watch(job.id(), 0);
  ASSERT_GE(all.size(), 4u);
  auto first = watch(job.id(), 0, 2);  // a client that lost its stream after two events
  ASSERT_EQ(first.size(), 2u);
  auto rest = watch(job.id(), first.back().seq());
  ASSERT_EQ(first.size() + rest.size(), all.size());
  EXPECT_EQ(rest.front().seq(), 3);
  EXPECT_TRUE(rest.back().has_finished());
}

TEST_F(ServiceTest, ARepeatedRequestIdReturnsTheSameJob) {
  pb::Job a, b, c;
  ASSERT_TRUE(submit(validate_request("ci-build-17"), &a).ok());
  ASSERT_TRUE(submit(validate_request("ci-build-17"), &b).ok());
  EXPECT_EQ(a.id(), b.id());
  auto other = validate_request("ci-build-17");
  other.set_runs(2);
  grpc::Status st = submit(other, &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("request_id"), std::string::npos) << st.error_message();
  watch(a.id(), 0);
  EXPECT_EQ(runner_.finished_.load(), 1) << "one job, run once";
}

TEST_F(ServiceTest, NoTokenOrAWrongOneIsUnauthenticated) {
  pb::Job job;
  EXPECT_EQ(submit(validate_request(), &job, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(submit(validate_request(), &job, "0123456789abcdef-xx").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto c = ctx("");
  pb::ListJobsResponse resp;
  EXPECT_EQ(stub_->ListJobs(c.get(), pb::ListJobsRequest(), &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(runner_.finished_.load(), 0);
}

TEST_F(ServiceTest, AFullQueueIsResourceExhaustedAndNoAcceptedJobIsLost) {
  runner_.hold(true);
  std::vector<std::string> accepted;
  pb::Job job;
  ASSERT_TRUE(submit(validate_request("r1"), &job).ok());
  accepted.push_back(job.id());
  runner_.wait_started(1);  // r1 runs; r2 and r3 fill the queue (max 2)
  for (const char* id : {"r2", "r3"}) {
    ASSERT_TRUE(submit(validate_request(id), &job).ok());
    accepted.push_back(job.id());
  }
  grpc::Status st = submit(validate_request("r4"), &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  runner_.hold(false);
  for (const auto& id : accepted) {
    auto events = watch(id, 0);
    ASSERT_FALSE(events.empty());
    ASSERT_TRUE(events.back().has_finished()) << "job " << id;
    EXPECT_EQ(events.back().finished().job().state(), pb::SUCCEEDED);
  }
  EXPECT_EQ(runner_.finished_.load(), 3);
}

TEST_F(ServiceTest, MalformedRequestsNameTheField) {
  struct Case {
    const char* what;
    std::function<void(pb::SubmitValidateRequest&)> change;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"empty patch", [](auto& r) { r.mutable_patches(0)->set_content(""); }, "patches[0].content"},
      {"binary patch",
       [](auto& r) {
         r.mutable_patches(0)->set_content(
             std::string("\x7f"
                         "ELF\0\1\2",
                         7));
       },
       "patches[0].content"},
      {"oversized patch",
       [](auto& r) { r.mutable_patches(0)->set_content(std::string(kPatch) + std::string(2 << 20, 'x')); },
       "patches[0].content"},
      {"no patch", [](auto& r) { r.clear_patches(); }, "patches"},
      {"a path as the name", [](auto& r) { r.mutable_patches(0)->set_name("../../etc/passwd"); }, "patches[0].name"},
      {"unknown scenario", [](auto& r) { r.mutable_scenarios(0)->set_name("no-such-race"); }, "scenarios[0].name"},
      {"scenario path", [](auto& r) { r.mutable_scenarios(0)->set_name("/etc/passwd"); }, "scenarios[0].name"},
      {"bad textproto", [](auto& r) { r.mutable_scenarios(0)->set_textproto("name: \"x\"\nschedule { bogus: 1 }\n"); },
       "scenarios[0].textproto"},
      {"runs=0", [](auto& r) { r.set_runs(0); }, "runs"},
      {"runs too many", [](auto& r) { r.set_runs(1000); }, "runs"},
      {"unknown base", [](auto& r) { r.set_base("nope"); }, "base"},
  };
  for (const auto& c : cases) {
    auto r = validate_request();
    c.change(r);
    pb::Job job;
    grpc::Status st = submit(r, &job);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what;
    EXPECT_EQ(st.error_message().rfind(std::string(c.field) + ":", 0), 0u) << c.what << ": " << st.error_message();
  }
  EXPECT_EQ(runner_.finished_.load(), 0);
}

TEST_F(ServiceTest, CancelStopsARunningJob) {
  runner_.hold(true);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  runner_.wait_started(1);
  pb::CancelJobRequest req;
  req.set_id(job.id());
  pb::Job after;
  auto c = ctx();
  ASSERT_TRUE(stub_->CancelJob(c.get(), req, &after).ok());
  auto events = watch(job.id(), 0);
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().job().state(), pb::CANCELLED);
  EXPECT_EQ(events.back().finished().job().exit_code(), 3);
  EXPECT_EQ(events.back().finished().job().cancelled_by(), "ci");
  EXPECT_EQ(events.back().finished().job().error(), "cancelled by ci");
  pb::GetJobRequest missing;
  missing.set_id("999");
  auto c2 = ctx();
  EXPECT_EQ(stub_->GetJob(c2.get(), missing, &after).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, AJobRunningWhenTheDaemonDiedRunsAgainOnce) {
  // What a SIGKILL leaves: the job RUNNING in the store, nobody running it.
  runner_.hold(true);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  runner_.wait_started(1);
  {
    auto s = SqliteStore::open(dir_ / "racerigd.db");  // a second connection sees the committed state
    ASSERT_TRUE(s.ok());
    auto stored = (*s)->get(job.id());
    ASSERT_TRUE(stored.ok() && *stored);
    EXPECT_EQ((*stored)->state(), pb::RUNNING);
  }
  // Abandon the pool without letting it requeue: as if killed.
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  adapter_.reset();
  core_.reset();
  {
    auto s = SqliteStore::open(dir_ / "racerigd.db");
    ASSERT_TRUE(s.ok());
    auto n = (*s)->recover(3);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1);
  }
  pool_.reset();  // the old worker ends (cancelled); its job was requeued, so it does not finish it
  store_.reset();
  runner_.hold(false);
  start(2);
  auto events = watch(job.id(), 0);
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& done = events.back().finished().job();
  EXPECT_EQ(done.state(), pb::SUCCEEDED);
  EXPECT_EQ(done.attempt(), 2);
  int finished_events = 0, requeued = 0;
  for (const auto& e : events) {
    finished_events += e.has_finished();
    requeued += e.has_requeued();
  }
  EXPECT_EQ(finished_events, 1);
  EXPECT_GE(requeued, 1);
}

// Issue 24 item 7: a job restarted after a crash shows its dead attempt's
// runs as what they are. Attempt 1 records a run, the daemon dies, attempt
// 2 runs to the end: WatchJob labels attempt 1's events superseded (with
// their attempt), attempt 2's are not, and the report is attempt 2's alone.
TEST_F(ServiceTest, ADeadAttemptsRunsAreLabelledSupersededAndNotInTheReport) {
  runner_.hold(true);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  runner_.wait_started(1);
  pb::JobEvent dead_run;  // what attempt 1's observer stored before the daemon died
  dead_run.mutable_run_finished()->set_label("buggy (control)");
  dead_run.mutable_run_finished()->mutable_report()->set_scenario("xfs-dax-flip-vs-write-fault");
  dead_run.mutable_run_finished()->mutable_report()->set_verdict(pb::SCHEDULE_NOT_REACHED);
  ASSERT_TRUE(store_->append_event(job.id(), service::Lease{pool_->owner_prefix() + "/0", 1}, dead_run).ok());
  // Killed: nobody requeues; the next start does.
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  adapter_.reset();
  core_.reset();
  {
    auto s = SqliteStore::open(dir_ / "racerigd.db");
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(*(*s)->recover(3), 1);
  }
  pool_.reset();
  store_.reset();
  runner_.hold(false);
  start(2);
  auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().attempt(), 2);
  int superseded_runs = 0, counted_runs = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e.superseded(), e.attempt() == 1) << e.ShortDebugString();
    if (e.has_run_finished()) (e.superseded() ? superseded_runs : counted_runs)++;
    if (e.has_started()) {
      EXPECT_EQ(e.attempt(), e.started().attempt());
    }
  }
  EXPECT_EQ(superseded_runs, 1);
  EXPECT_EQ(counted_runs, 2);  // the FakeRunner's two runs, in attempt 2
  // The report is attempt 2's: FIXED, whatever attempt 1 saw.
  const pb::Job& done = events.back().finished().job();
  EXPECT_EQ(done.attempt(), 2);
  ASSERT_EQ(done.validate_report().scenarios_size(), 1);
  EXPECT_EQ(done.validate_report().scenarios(0).result(), pb::FIXED);
  // A watch that starts after the end still labels them (read from the store).
  auto later = watch(job.id(), 2);
  ASSERT_FALSE(later.empty());
  EXPECT_TRUE(later.front().superseded());
}

TEST_F(ServiceTest, ListJobsFiltersAndPages) {
  stop();
  start(10);  // three jobs queued at once fit
  pb::Job job;
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(submit(validate_request(id), &job).ok());
  watch(job.id(), 0);
  pb::ListJobsRequest req;
  req.set_page_size(2);
  pb::ListJobsResponse page1, page2;
  auto c = ctx();
  ASSERT_TRUE(stub_->ListJobs(c.get(), req, &page1).ok());
  ASSERT_EQ(page1.jobs_size(), 2);
  EXPECT_EQ(page1.jobs(0).id(), job.id()) << "newest first";
  ASSERT_FALSE(page1.next_page_token().empty());
  req.set_page_token(page1.next_page_token());
  auto c2 = ctx();
  ASSERT_TRUE(stub_->ListJobs(c2.get(), req, &page2).ok());
  EXPECT_EQ(page2.jobs_size(), 1);
  EXPECT_TRUE(page2.next_page_token().empty());
  pb::ListJobsRequest bad;
  bad.set_page_token("zz");
  auto c3 = ctx();
  EXPECT_EQ(stub_->ListJobs(c3.get(), bad, &page2).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, AnotherSubmittersJobIsNotFoundAnywhere) {
  runner_.hold(true);
  pb::Job mine, theirs, got;
  ASSERT_TRUE(submit(validate_request("build-1"), &mine).ok());
  runner_.wait_started(1);  // ci's job runs and stays running while alice looks
  ASSERT_TRUE(submit(validate_request("build-1"), &theirs, kOtherToken).ok());
  EXPECT_NE(theirs.id(), mine.id()) << "request ids are per submitter";
  EXPECT_EQ(theirs.submitter(), "alice");

  // Alice gets the answer an id that does not exist gets: same code, same words.
  grpc::Status unknown = get_job("999", kOtherToken, &got);
  ASSERT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status st = get_job(mine.id(), kOtherToken, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "id: no job \"" + mine.id() + "\"");
  std::vector<pb::JobEvent> events;
  st = watch_status(mine.id(), kOtherToken, &events);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(events.empty()) << "no event of another's job is sent";
  pb::JobArtifacts art;
  st = artifacts(mine.id(), kOtherToken, &art);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << "not FAILED_PRECONDITION: " << st.error_message();
  st = cancel_job(mine.id(), kOtherToken, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_EQ(listed(kOtherToken), std::vector<std::string>{theirs.id()});
  EXPECT_EQ(listed(kToken), std::vector<std::string>{mine.id()});

  // Alice's cancel did nothing: ci's job is still running, and finishes.
  ASSERT_TRUE(get_job(mine.id(), kToken, &got).ok());
  EXPECT_EQ(got.state(), pb::RUNNING);
  runner_.hold(false);
  events = watch(mine.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().job().state(), pb::SUCCEEDED);
  watch(theirs.id(), 0, -1, kOtherToken);

  // Finished, it is still ci's alone; ci sees all of it.
  EXPECT_EQ(get_job(mine.id(), kOtherToken, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(artifacts(mine.id(), kOtherToken, &art).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get_job(theirs.id(), kToken, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(get_job(mine.id(), kToken, &got).ok());
  EXPECT_EQ(got.validate_report().scenarios(0).result(), pb::FIXED);
  ASSERT_TRUE(artifacts(mine.id(), kToken, &art).ok());
  EXPECT_NE(art.json().find("\"FIXED\""), std::string::npos);
  ASSERT_TRUE(cancel_job(mine.id(), kToken, &got).ok()) << "the owner's cancel of a finished job answers it";
  EXPECT_EQ(got.state(), pb::SUCCEEDED);
  EXPECT_EQ(runner_.finished_.load(), 2);
}

TEST_F(ServiceTest, ListJobsPagesThroughTheCallersJobsOnly) {
  stop();
  start(10);
  std::vector<std::string> ci_ids, alice_ids;
  pb::Job job;
  for (int i = 0; i < 3; ++i) {  // interleaved: ci, alice, ci, alice, ci, alice
    ASSERT_TRUE(submit(validate_request("c" + std::to_string(i)), &job).ok());
    ci_ids.insert(ci_ids.begin(), job.id());
    ASSERT_TRUE(submit(validate_request("a" + std::to_string(i)), &job, kOtherToken).ok());
    alice_ids.insert(alice_ids.begin(), job.id());
  }
  EXPECT_EQ(listed(kToken, 2), ci_ids) << "newest first, over two pages";
  EXPECT_EQ(listed(kOtherToken, 2), alice_ids);
  EXPECT_EQ(listed(kAdminToken, 4).size(), 6u);
  for (const auto& id : alice_ids) watch(id, 0, -1, kOtherToken);
  for (const auto& id : ci_ids) watch(id, 0);
}

TEST_F(ServiceTest, AnAdminSeesAndCancelsEveryonesJobs) {
  runner_.hold(true);
  pb::Job ci_job, alice_job, got;
  ASSERT_TRUE(submit(validate_request(), &ci_job).ok());
  runner_.wait_started(1);
  ASSERT_TRUE(submit(validate_request(), &alice_job, kOtherToken).ok());  // queued behind ci's

  EXPECT_EQ(listed(kAdminToken), (std::vector<std::string>{alice_job.id(), ci_job.id()}));
  ASSERT_TRUE(get_job(alice_job.id(), kAdminToken, &got).ok());
  EXPECT_EQ(got.submitter(), "alice");
  EXPECT_EQ(got.state(), pb::QUEUED);
  // The admin cancels both: alice's before it starts, ci's while it runs.
  ASSERT_TRUE(cancel_job(alice_job.id(), kAdminToken, &got).ok());
  EXPECT_EQ(got.state(), pb::CANCELLED);
  EXPECT_EQ(got.submitter(), "alice") << "a cancel does not change whose job it is";
  EXPECT_EQ(got.cancelled_by(), "root") << "the job says who cancelled it";
  EXPECT_EQ(got.error(), "cancelled by root before it started");
  ASSERT_TRUE(cancel_job(ci_job.id(), kAdminToken, &got).ok());
  auto events = watch(ci_job.id(), 0, -1, kAdminToken);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().job().state(), pb::CANCELLED);
  EXPECT_EQ(events.back().finished().job().cancelled_by(), "root");
  EXPECT_EQ(events.back().finished().job().submitter(), "ci");
  EXPECT_EQ(runner_.finished_.load(), 0);
  pb::JobArtifacts art;
  EXPECT_EQ(artifacts(ci_job.id(), kAdminToken, &art).error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << "the admin sees the job exists: it has no report";
  // The owners still see their own jobs, and only those.
  ASSERT_TRUE(get_job(alice_job.id(), kOtherToken, &got).ok());
  EXPECT_EQ(got.state(), pb::CANCELLED);
  EXPECT_EQ(listed(kOtherToken), std::vector<std::string>{alice_job.id()});
  EXPECT_EQ(listed(kToken), std::vector<std::string>{ci_job.id()});
  EXPECT_EQ(listed(kAdminToken).size(), 2u);
}

TEST_F(ServiceTest, AnAdminsOwnJobsAreTheirsAndIdempotentPerAdmin) {
  pb::Job ci_job, admin_job, again;
  ASSERT_TRUE(submit(validate_request("same"), &ci_job).ok());
  ASSERT_TRUE(submit(validate_request("same"), &admin_job, kAdminToken).ok());
  EXPECT_NE(admin_job.id(), ci_job.id()) << "an admin's request id is the admin's, not everyone's";
  EXPECT_EQ(admin_job.submitter(), "root");
  ASSERT_TRUE(submit(validate_request("same"), &again, kAdminToken).ok());
  EXPECT_EQ(again.id(), admin_job.id());
  watch(ci_job.id(), 0);
  watch(admin_job.id(), 0, -1, kAdminToken);
  pb::Job got;
  EXPECT_EQ(get_job(admin_job.id(), kToken, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(listed(kToken), std::vector<std::string>{ci_job.id()});
}

TEST_F(ServiceTest, WithoutTokensEveryCallerIsLocalAndSeesEveryJob) {
  pb::Job ci_job;
  ASSERT_TRUE(submit(validate_request(), &ci_job).ok());
  watch(ci_job.id(), 0);
  stop();
  start(2, 1, /*with_tokens=*/false);  // the same state, served without --tokens
  pb::Job local_job, got;
  ASSERT_TRUE(submit(validate_request(), &local_job, "").ok());
  EXPECT_EQ(local_job.submitter(), "local");
  watch(local_job.id(), 0, -1, "");
  EXPECT_EQ(listed(""), (std::vector<std::string>{local_job.id(), ci_job.id()}));
  ASSERT_TRUE(get_job(ci_job.id(), "", &got).ok());
  EXPECT_EQ(got.submitter(), "ci");
}

TEST_F(ServiceTest, AStressJobIsQueuedRunStoredListedAndItsReportFetched) {
  pb::Job job;
  grpc::Status st = submit_any(stress_request(), &job);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(job.kind(), pb::STRESS);
  EXPECT_EQ(job.state(), pb::QUEUED);
  EXPECT_EQ(job.stress().duration_s(), 5);
  auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& done = events.back().finished().job();
  EXPECT_EQ(done.state(), pb::SUCCEEDED);
  EXPECT_EQ(done.exit_code(), 1);
  ASSERT_TRUE(done.has_stress_report());
  EXPECT_EQ(done.stress_report().scenario(), "stress-fsx-vs-dax-flip");
  EXPECT_EQ(done.stress_report().kernel_variant(), "buggy");
  ASSERT_EQ(done.stress_report().runs_size(), 1);
  EXPECT_EQ(done.stress_report().runs(0).seed(), 77u) << "the seed arrived through the conversion";

  pb::Job got;
  ASSERT_TRUE(get_job(job.id(), kToken, &got).ok());
  EXPECT_EQ(got.kind(), pb::STRESS);
  EXPECT_TRUE(got.has_stress_report());
  pb::ListJobsResponse list;
  auto c = ctx();
  ASSERT_TRUE(stub_->ListJobs(c.get(), pb::ListJobsRequest(), &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  EXPECT_EQ(list.jobs(0).kind(), pb::STRESS);
  EXPECT_FALSE(list.jobs(0).has_stress_report()) << "listings leave reports out";
  pb::JobArtifacts art;
  ASSERT_TRUE(artifacts(job.id(), kToken, &art).ok());
  EXPECT_NE(art.json().find("\"seed\": \"77\""), std::string::npos) << art.json();
  EXPECT_TRUE(art.junit_xml().empty()) << "JUnit is validate's";

  pb::Job again;
  ASSERT_TRUE(submit_any(stress_request(), &again).ok());
  EXPECT_NE(again.id(), job.id()) << "no request id: a new job";
  watch(again.id(), 0);
}

TEST_F(ServiceTest, AStressJobIsIdempotentAndCancelledLikeTheOthers) {
  runner_.hold(true);
  pb::Job job, same;
  ASSERT_TRUE(submit_any(stress_request("stress-1"), &job).ok());
  ASSERT_TRUE(submit_any(stress_request("stress-1"), &same).ok());
  EXPECT_EQ(same.id(), job.id());
  auto other = stress_request("stress-1");
  other.mutable_stress()->set_seed(78);
  EXPECT_EQ(submit_any(other, &same).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  runner_.wait_started(1);
  pb::Job after;
  ASSERT_TRUE(cancel_job(job.id(), kToken, &after).ok());
  auto events = watch(job.id(), 0);
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().job().state(), pb::CANCELLED);
  EXPECT_EQ(events.back().finished().job().cancelled_by(), "ci");
  EXPECT_EQ(runner_.finished_.load(), 0);
}

TEST_F(ServiceTest, MalformedStressRequestsNameTheField) {
  struct Case {
    const char* what;
    std::function<void(pb::SubmitStressRequest&)> change;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"runs=0", [](auto& r) { r.set_runs(0); }, "runs"},
      {"duration=0", [](auto& r) { r.set_duration_s(0); }, "duration_s"},
      {"duration too long", [](auto& r) { r.set_duration_s(100000); }, "duration_s"},
      {"no scenario", [](auto& r) { r.clear_scenario(); }, "scenario"},
      {"a forced scenario's name", [](auto& r) { r.mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault"); },
       "scenario.name"},
      {"scenario path", [](auto& r) { r.mutable_scenario()->set_name("/etc/passwd"); }, "scenario.name"},
      {"no kernel", [](auto& r) { r.clear_kernel(); }, "kernel"},
      {"unknown kernel", [](auto& r) { r.set_kernel("nope"); }, "kernel"},
  };
  for (const auto& c : cases) {
    auto r = stress_request();
    c.change(*r.mutable_stress());
    pb::Job job;
    grpc::Status st = submit_any(r, &job);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what;
    EXPECT_EQ(st.error_message().rfind(std::string(c.field) + ":", 0), 0u) << c.what << ": " << st.error_message();
  }
  pb::Job job;
  grpc::Status none = submit_any(pb::SubmitRequest(), &job);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(none.error_message().rfind("request:", 0), 0u) << none.error_message();
  EXPECT_EQ(runner_.finished_.load(), 0);
}

TEST_F(ServiceTest, AnExploreJobIsQueuedRunStoredListedAndItsReportFetched) {
  pb::Job job;
  grpc::Status st = submit_any(explore_request(), &job);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(job.kind(), pb::EXPLORE);
  EXPECT_EQ(job.state(), pb::QUEUED);
  EXPECT_EQ(job.explore().max_schedules(), 3);
  auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  std::vector<std::string> notes;
  for (const auto& ev : events)
    if (ev.has_note()) notes.push_back(ev.note().text());
  EXPECT_NE(std::find(notes.begin(), notes.end(),
                      "schedule 2 of 3: a at __xfs_filemap_fault fs/xfs/xfs_file.c:1349 #1 while b runs: REPRODUCED"),
            notes.end())
      << "each schedule's progress is an event";
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& done = events.back().finished().job();
  EXPECT_EQ(done.state(), pb::SUCCEEDED);
  EXPECT_EQ(done.kind(), pb::EXPLORE);
  EXPECT_EQ(done.exit_code(), 0);
  ASSERT_TRUE(done.has_explore_report());
  EXPECT_EQ(done.explore_report().scenario(), "xfs-dax-flip-vs-write-fault");
  EXPECT_EQ(done.explore_report().kernel_variant(), "buggy");
  EXPECT_EQ(done.explore_report().schedules_size(), 3) << "max_schedules arrived through the conversion";

  pb::Job got;
  ASSERT_TRUE(get_job(job.id(), kToken, &got).ok());
  EXPECT_EQ(got.kind(), pb::EXPLORE);
  EXPECT_TRUE(got.has_explore_report());
  pb::ListJobsResponse list;
  auto c = ctx();
  ASSERT_TRUE(stub_->ListJobs(c.get(), pb::ListJobsRequest(), &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  EXPECT_EQ(list.jobs(0).kind(), pb::EXPLORE);
  EXPECT_EQ(list.jobs(0).explore().kernel(), "buggy");
  EXPECT_FALSE(list.jobs(0).has_explore_report()) << "listings leave reports out";
  pb::JobArtifacts art;
  ASSERT_TRUE(artifacts(job.id(), kToken, &art).ok());
  EXPECT_NE(art.json().find("\"function\": \"__xfs_filemap_fault\""), std::string::npos) << art.json();
  EXPECT_TRUE(art.junit_xml().empty()) << "JUnit is validate's";
}

TEST_F(ServiceTest, AnExploreJobIsIdempotentAndCancelledLikeTheOthers) {
  runner_.hold(true);
  pb::Job job, same;
  ASSERT_TRUE(submit_any(explore_request("explore-1"), &job).ok());
  ASSERT_TRUE(submit_any(explore_request("explore-1"), &same).ok());
  EXPECT_EQ(same.id(), job.id());
  auto other = explore_request("explore-1");
  other.mutable_explore()->set_max_schedules(4);
  EXPECT_EQ(submit_any(other, &same).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  runner_.wait_started(1);
  pb::Job after;
  ASSERT_TRUE(cancel_job(job.id(), kToken, &after).ok());
  auto events = watch(job.id(), 0);
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().job().state(), pb::CANCELLED);
  EXPECT_EQ(events.back().finished().job().kind(), pb::EXPLORE);
  EXPECT_EQ(runner_.finished_.load(), 0);
}

TEST_F(ServiceTest, MalformedExploreRequestsNameTheField) {
  struct Case {
    const char* what;
    std::function<void(pb::SubmitExploreRequest&)> change;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"max_schedules<0", [](auto& r) { r.set_max_schedules(-1); }, "max_schedules"},
      {"max_schedules too many", [](auto& r) { r.set_max_schedules(1000000); }, "max_schedules"},
      {"request id too long", [](auto& r) { r.set_request_id(std::string(1000, 'x')); }, "request_id"},
      {"no scenario", [](auto& r) { r.clear_scenario(); }, "scenario"},
      {"unknown scenario", [](auto& r) { r.mutable_scenario()->set_name("nope"); }, "scenario.name"},
      {"scenario path", [](auto& r) { r.mutable_scenario()->set_name("/etc/passwd"); }, "scenario.name"},
      {"bad inline scenario", [](auto& r) { r.mutable_scenario()->set_textproto("name: "); }, "scenario.textproto"},
      {"no kernel", [](auto& r) { r.clear_kernel(); }, "kernel"},
      {"unknown kernel", [](auto& r) { r.set_kernel("nope"); }, "kernel"},
  };
  for (const auto& c : cases) {
    auto r = explore_request();
    c.change(*r.mutable_explore());
    pb::Job job;
    grpc::Status st = submit_any(r, &job);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what;
    EXPECT_EQ(st.error_message().rfind(std::string(c.field) + ":", 0), 0u) << c.what << ": " << st.error_message();
  }
  auto every = explore_request();
  every.mutable_explore()->set_max_schedules(0);
  pb::Job job;
  EXPECT_TRUE(submit_any(every, &job).ok()) << "0: every schedule";
  watch(job.id(), 0);
}

// Issue 24, item 4: a watch from at or past the Finished event has nothing
// more to wait for: it ends at once, OK and empty, however far past.
TEST_F(ServiceTest, WatchingAFinishedJobFromItsEndReturnsAtOnce) {
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  auto all = watch(job.id(), 0);
  ASSERT_FALSE(all.empty());
  ASSERT_TRUE(all.back().has_finished());
  const int64_t last = all.back().seq();
  for (int64_t after : {last, last + 1, last + 1000}) {
    std::vector<pb::JobEvent> events;
    grpc::Status st = watch_status(job.id(), kToken, &events, after);
    EXPECT_TRUE(st.ok()) << "after_seq " << after << ": " << st.error_code() << " " << st.error_message();
    EXPECT_TRUE(events.empty()) << "after_seq " << after;
  }
  std::vector<pb::JobEvent> tail;
  ASSERT_TRUE(watch_status(job.id(), kToken, &tail, last - 1).ok());
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_TRUE(tail[0].has_finished());
}

// Issue 24, item 6: a shutdown puts back in the queue only the runs it
// stopped. A run that ended by itself as the shutdown came is stored as it
// ended; a run a client cancelled is stored CANCELLED; a run the shutdown
// stopped is queued again.
TEST_F(ServiceTest, ShutdownRequeuesOnlyTheRunsItStopped) {
  // A run that ends SUCCEEDED although the shutdown cancelled its token.
  runner_.hold(true);
  runner_.ignore_cancel(true);
  pb::Job ended;
  ASSERT_TRUE(submit(validate_request(), &ended).ok());
  runner_.wait_started(1);
  std::thread stopper([&] { pool_->stop(); });
  ASSERT_TRUE(runner_.wait_cancels_seen(1));  // the shutdown reached the run
  runner_.hold(false);
  stopper.join();
  EXPECT_EQ(stored_job(ended.id()).state(), pb::SUCCEEDED);
  for (const auto& e : stored_events(ended.id())) EXPECT_FALSE(e.has_requeued()) << e.DebugString();
  stop();

  // A run a client cancelled while the daemon stopped.
  start(2);
  runner_.hold(true);
  pb::Job cancelled;
  ASSERT_TRUE(submit(validate_request(), &cancelled).ok());
  runner_.wait_started(2);
  std::thread stopper2([&] { pool_->stop(); });
  ASSERT_TRUE(runner_.wait_cancels_seen(2));  // stopping: the shutdown cancelled the token
  pb::Job reply;
  ASSERT_TRUE(cancel_job(cancelled.id(), kToken, &reply).ok());
  runner_.hold(false);
  stopper2.join();
  const pb::Job c = stored_job(cancelled.id());
  EXPECT_EQ(c.state(), pb::CANCELLED);
  EXPECT_EQ(c.cancelled_by(), "ci");
  for (const auto& e : stored_events(cancelled.id())) EXPECT_FALSE(e.has_requeued()) << e.DebugString();
  stop();

  // A run the shutdown stopped: queued again, for the next start.
  runner_.ignore_cancel(false);
  start(2);
  runner_.hold(true);
  pb::Job stopped;
  ASSERT_TRUE(submit(validate_request(), &stopped).ok());
  runner_.wait_started(3);
  pool_->stop();
  EXPECT_EQ(stored_job(stopped.id()).state(), pb::QUEUED);
  EXPECT_TRUE(stored_events(stopped.id()).back().has_requeued());
  runner_.hold(false);
}

// Issue 24, item 5: a cancel that lands after a worker claimed the job but
// before it registered the job's token (where pool.cancel finds nothing to
// stop) is honoured: the run never starts, the job is CANCELLED by its
// caller, and Finished is its last event.
TEST_F(ServiceTest, ACancelBetweenTheClaimAndTheRunIsHonoured) {
  stop();
  claim_hook_ = [this](const pb::Job& claimed) {
    EXPECT_EQ(stored_job(claimed.id()).state(), pb::RUNNING) << "the hook runs after the claim";
    auto r = core_->cancel(claimed.id(), service::Caller{"ci", false});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  };
  start(2);
  const int started_before = runner_.started();
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& done = events.back().finished().job();
  EXPECT_EQ(done.state(), pb::CANCELLED);
  EXPECT_EQ(done.cancelled_by(), "ci");
  EXPECT_EQ(done.exit_code(), 3);
  EXPECT_EQ(runner_.started(), started_before) << "the cancelled job never ran";
  stop();  // the worker is done with it: what the store keeps is final
  claim_hook_ = nullptr;
  auto store = SqliteStore::open(dir_ / "racerigd.db");
  ASSERT_TRUE(store.ok());
  auto stored = (*store)->events_after(job.id(), 0, 1000);
  ASSERT_TRUE(stored.ok());
  ASSERT_FALSE(stored->empty());
  EXPECT_TRUE(stored->back().has_finished()) << "nothing after Finished: " << stored->back().DebugString();
  int finished = 0;
  for (const auto& e : *stored) finished += e.has_finished();
  EXPECT_EQ(finished, 1);
  start(2);  // for TearDown
}

// A cancel of a queued job ends it in the store, so no worker claims it.
// A worker whose job another process took over (as when its renewals
// stopped reaching the store and a worker elsewhere requeued the job) learns
// so at its next renewal, stops its run and stores nothing of it; the next
// attempt finishes the job, once.
TEST_F(ServiceTest, AWorkerThatLostItsLeaseStopsItsRunAndStoresNothingOfIt) {
  stop();
  lease_ = std::chrono::seconds(3);  // renewed every second
  start(2);
  runner_.hold(true);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  runner_.wait_started(1);
  {
    auto other = SqliteStore::open(dir_ / "racerigd.db");
    ASSERT_TRUE(other.ok());
    ASSERT_EQ(*(*other)->recover(3), 1) << "the job, taken from its worker";
  }
  // The one worker runs attempt 2 only once attempt 1's run, held until
  // its token is cancelled, has stopped: at the worker's next renewal.
  runner_.wait_started(2);
  ASSERT_EQ(runner_.started(), 2) << "attempt 1's run was not stopped";
  runner_.hold(false);
  auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().job().state(), pb::SUCCEEDED);
  EXPECT_EQ(events.back().finished().job().attempt(), 2);
  int finished = 0;
  for (const auto& e : events) finished += e.has_finished();
  EXPECT_EQ(finished, 1) << "attempt 1 stored no end";
}

TEST_F(ServiceTest, ACancelledQueuedJobIsNeverClaimed) {
  runner_.hold(true);
  pb::Job first, second;
  ASSERT_TRUE(submit(validate_request(), &first).ok());
  runner_.wait_started(1);  // the one worker is busy with the first
  ASSERT_TRUE(submit(validate_request(), &second).ok());
  pb::Job reply;
  ASSERT_TRUE(cancel_job(second.id(), kToken, &reply).ok());
  EXPECT_EQ(reply.state(), pb::CANCELLED);
  EXPECT_EQ(reply.error(), "cancelled by ci before it started");
  runner_.hold(false);
  watch(first.id(), 0);
  EXPECT_EQ(runner_.started(), 1) << "the second job did not run";
  auto claimed = store_->claim_next("test", std::chrono::minutes(1));
  ASSERT_TRUE(claimed.ok());
  EXPECT_FALSE(claimed->has_value());
}

TEST(TokenTable, ParsesNamesTokensAndComments) {
  auto t = service::TokenTable::parse("# who\n\nci 0123456789abcdef0  # the CI\nalice fedcba9876543210x\n", "t");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->size(), 2u);
  ASSERT_TRUE(t->authenticate("Bearer 0123456789abcdef0").has_value());
  EXPECT_EQ(t->authenticate("Bearer 0123456789abcdef0")->name, "ci");
  EXPECT_FALSE(t->authenticate("Bearer 0123456789abcdef1").has_value());
  EXPECT_FALSE(t->authenticate("0123456789abcdef0").has_value());
  EXPECT_FALSE(t->authenticate("Bearer ").has_value());
  auto bad = service::TokenTable::parse("ci\n", "tokens");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("tokens:1:", 0), 0u) << bad.error().message;
  EXPECT_FALSE(service::TokenTable::parse("ci short\n", "t").ok());
  EXPECT_FALSE(service::TokenTable::parse("# nothing\n", "t").ok());
  EXPECT_FALSE(service::TokenTable::parse("a 0123456789abcdef0\nb 0123456789abcdef0\n", "t").ok());
  EXPECT_EQ(t->admins(), 0u) << "a file of NAME TOKEN lines has no admin";
  EXPECT_FALSE(t->authenticate("Bearer 0123456789abcdef0")->admin);
}

TEST(TokenTable, AThirdWordAdminMarksAnAdmin) {
  auto t = service::TokenTable::parse(
      "ci 0123456789abcdef0\n"
      "root fedcba9876543210x admin   # sees every job\n"
      "alice 0123456789abcdefA\t# admin only in a comment\n",
      "t");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->size(), 3u);
  EXPECT_EQ(t->admins(), 1u);
  auto root = t->authenticate("Bearer fedcba9876543210x");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->name, "root");
  EXPECT_TRUE(root->admin);
  auto ci = t->authenticate("Bearer 0123456789abcdef0");
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->name, "ci");
  EXPECT_FALSE(ci->admin);
  ASSERT_TRUE(t->authenticate("Bearer 0123456789abcdefA").has_value());
  EXPECT_FALSE(t->authenticate("Bearer 0123456789abcdefA")->admin);

  auto typo = service::TokenTable::parse("ci 0123456789abcdef0\nroot fedcba9876543210x Admin\n", "tokens");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().message.rfind("tokens:2:", 0), 0u) << typo.error().message;
  EXPECT_NE(typo.error().message.find("\"Admin\""), std::string::npos) << typo.error().message;
  auto more = service::TokenTable::parse("root fedcba9876543210x admin extra\n", "tokens");
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.error().message.find("\"extra\""), std::string::npos) << more.error().message;
  EXPECT_FALSE(service::TokenTable::parse("root admin\n", "t").ok()) << "\"admin\" is no token (too short)";
}

}  // namespace
}  // namespace racerig::racerigd

namespace racerig::racerigd {
namespace {

// A report whose consoles add up past 4 MiB: GetJob, WatchJob and
// GetJobArtifacts leave them out (the client's default limit would refuse
// the reply), ReadArtifact streams them in chunks of at most 1 MiB, to the
// owner and admins only.
TEST_F(ServiceTest, ConsolesAreReadInChunksThroughReadArtifact) {
  pb::Job job;
  ASSERT_TRUE(submit_any(reproduce_request(), &job).ok());
  const auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& finished = events.back().finished().job();
  ASSERT_EQ(finished.reproduce_report().runs_size(), 2);
  EXPECT_TRUE(finished.reproduce_report().runs(1).console().empty());

  pb::Job got;
  grpc::Status st = get_job(job.id(), kToken, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(got.reproduce_report().runs_size(), 2);
  EXPECT_TRUE(got.reproduce_report().runs(1).console().empty());
  pb::JobArtifacts art;
  st = artifacts(job.id(), kToken, &art);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(art.json().find("ccccccccEND"), std::string::npos);

  std::vector<pb::ArtifactChunk> chunks;
  st = read_artifact(job.id(), "runs/2/console", kToken, &chunks);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(chunks.size(), 5u);
  const std::string console = joined(chunks);
  EXPECT_EQ(console.size(), kBigConsole);
  EXPECT_EQ(console.substr(console.size() - 4), "END\n");

  chunks.clear();
  ASSERT_TRUE(read_artifact(job.id(), "runs/1/console", kToken, &chunks).ok());
  EXPECT_EQ(joined(chunks), "a short console\n");

  chunks.clear();  // the full report: consoles included
  ASSERT_TRUE(read_artifact(job.id(), "report.json", kToken, &chunks).ok());
  EXPECT_NE(joined(chunks).find("ccccccccEND"), std::string::npos);

  chunks.clear();  // an admin reads it too
  ASSERT_TRUE(read_artifact(job.id(), "runs/2/console", kAdminToken, &chunks).ok());
  EXPECT_EQ(joined(chunks), console);

  chunks.clear();  // another submitter: as if there were no such job
  st = read_artifact(job.id(), "runs/2/console", kOtherToken, &chunks);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(chunks.empty());
  EXPECT_EQ(st.error_message().find("runs/"), std::string::npos) << st.error_message();

  // A name the job does not have: NOT_FOUND listing those it has.
  st = read_artifact(job.id(), "runs/3/console", kToken, &chunks);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("runs/2/console"), std::string::npos) << st.error_message();
  st = read_artifact(job.id(), "../../etc/passwd", kToken, &chunks);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(chunks.empty());
}

TEST_F(ServiceTest, ReadArtifactOfAnUnfinishedJobIsAFailedPrecondition) {
  runner_.hold(true);
  pb::Job job;
  ASSERT_TRUE(submit_any(reproduce_request(), &job).ok());
  runner_.wait_started(1);
  std::vector<pb::ArtifactChunk> chunks;
  grpc::Status st = read_artifact(job.id(), "report.json", kToken, &chunks);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  runner_.hold(false);
}

}  // namespace
}  // namespace racerig::racerigd

namespace racerig::racerigd {
namespace {

// An inline scenario's machine and deadlines are bounded by the server:
// over a limit is INVALID_ARGUMENT naming the field and the limit.
TEST_F(ServiceTest, InlineScenarioMachineAndDeadlinesAreBounded) {
  std::ifstream in(fs::path(RACERIG_SOURCE_DIR) / "scenarios" / "xfs-dax-flip-vs-write-fault.textproto");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(text.find("boot_s: 120"), std::string::npos);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    if (!from.empty()) t.replace(t.find(from), from.size(), to);
    else t += to;
    pb::SubmitRequest r = reproduce_request();
    r.mutable_reproduce()->mutable_scenario()->set_textproto(t);
    return r;
  };
  struct Case {
    pb::SubmitRequest request;
    const char* field;
    const char* limit;
  };
  const Case cases[] = {
      {with("", "machine { cpus: 16 }\n"), "scenario.textproto: machine.cpus is 16", "at most 8"},
      {with("", "machine { memory_mb: 65536 }\n"), "scenario.textproto: machine.memory_mb is 65536", "at most 4096"},
      {with("boot_s: 120", "boot_s: 601"), "scenario.textproto: deadlines.boot_s is 601", "at most 600"},
      {with("step_s: 60", "step_s: 86400"), "scenario.textproto: deadlines.step_s is 86400", "at most 600"},
      {with("finish_s: 60", "finish_s: 601"), "scenario.textproto: deadlines.finish_s is 601", "at most 600"},
  };
  for (const Case& c : cases) {
    pb::Job job;
    grpc::Status st = submit_any(c.request, &job);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_NE(st.error_message().find(c.field), std::string::npos) << st.error_message();
    EXPECT_NE(st.error_message().find(c.limit), std::string::npos) << st.error_message();
  }
  // At the limits: accepted.
  pb::Job job;
  grpc::Status st = submit_any(with("boot_s: 120", "boot_s: 600"), &job);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// A job that runs past the pool's deadline is cancelled, and says why.
TEST_F(ServiceTest, AJobPastItsDeadlineIsCancelledWithTheReason) {
  stop();
  job_deadline_ = std::chrono::milliseconds(1);
  runner_.hold(true);  // the run waits for its token
  start(2);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  const auto events = watch(job.id(), 0);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_finished());
  const pb::Job& end = events.back().finished().job();
  EXPECT_EQ(end.state(), pb::CANCELLED);
  EXPECT_NE(end.error().find("deadline"), std::string::npos) << end.error();
  EXPECT_EQ(end.exit_code(), 3);
  runner_.hold(false);
}

}  // namespace
}  // namespace racerig::racerigd

namespace racerig::racerigd {
namespace {

// One submitter's queued jobs are bounded on their own: past the quota its
// submits are RESOURCE_EXHAUSTED saying so, while another's still queue.
TEST_F(ServiceTest, ASubmitterPastItsQueueQuotaIsRefusedAndOthersAreNot) {
  stop();
  max_queued_per_submitter_ = 2;
  runner_.hold(true);
  start(10);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request("a"), &job).ok());
  runner_.wait_started(1);  // the first runs; two more may wait
  ASSERT_TRUE(submit(validate_request("b"), &job).ok());
  ASSERT_TRUE(submit(validate_request("c"), &job).ok());
  grpc::Status st = submit(validate_request("d"), &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("--max-queued-per-submitter"), std::string::npos) << st.error_message();
  st = submit(validate_request("e"), &job, kOtherToken);
  EXPECT_TRUE(st.ok()) << st.error_message();
  runner_.hold(false);
}

// With two workers and at most one running job a submitter, a submitter's
// second job waits while another submitter's job takes the second worker.
TEST_F(ServiceTest, OneSubmitterCannotTakeEveryWorker) {
  stop();
  max_running_per_submitter_ = 1;
  runner_.hold(true);
  start(10, 2);
  pb::Job first, second, other;
  ASSERT_TRUE(submit(validate_request("1"), &first).ok());
  ASSERT_TRUE(submit(validate_request("2"), &second).ok());
  runner_.wait_started(1);
  ASSERT_TRUE(submit(validate_request("3"), &other, kOtherToken).ok());
  runner_.wait_started(2);
  EXPECT_EQ(runner_.started(), 2);
  EXPECT_EQ(stored_job(first.id()).state(), pb::RUNNING);
  EXPECT_EQ(stored_job(second.id()).state(), pb::QUEUED);
  EXPECT_EQ(stored_job(other.id()).state(), pb::RUNNING);
  runner_.hold(false);  // then the second runs too
  const auto events = watch(second.id(), 0);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().has_finished());
}

}  // namespace
}  // namespace racerig::racerigd

namespace racerig::racerigd {
namespace {

// DeleteJob: the owner or an admin deletes an ended job (record, events,
// directory); another submitter gets NOT_FOUND; a job that has not ended is
// FAILED_PRECONDITION until cancelled.
TEST_F(ServiceTest, DeleteJobRemovesAnEndedJobForItsOwnerOrAnAdmin) {
  auto del = [&](const std::string& id, const std::string& token) {
    auto c = ctx(token);
    pb::DeleteJobRequest req;
    req.set_id(id);
    pb::DeleteJobResponse resp;
    return stub_->DeleteJob(c.get(), req, &resp);
  };
  pb::Job done, other;
  ASSERT_TRUE(submit(validate_request("done"), &done).ok());
  ASSERT_TRUE(watch(done.id(), 0).back().has_finished());
  ASSERT_TRUE(submit(validate_request("other"), &other).ok());
  ASSERT_TRUE(watch(other.id(), 0).back().has_finished());
  fs::create_directories(dir_ / "jobs" / done.id());
  std::ofstream(dir_ / "jobs" / done.id() / "fix.patch") << kPatch;

  EXPECT_EQ(del(done.id(), kOtherToken).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status st = del(done.id(), kToken);
  ASSERT_TRUE(st.ok()) << st.error_message();
  pb::Job got;
  EXPECT_EQ(get_job(done.id(), kToken, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(stored_events(done.id()).empty());
  EXPECT_FALSE(fs::exists(dir_ / "jobs" / done.id()));
  EXPECT_EQ(del(done.id(), kToken).error_code(), grpc::StatusCode::NOT_FOUND);
  st = del(other.id(), kAdminToken);
  EXPECT_TRUE(st.ok()) << st.error_message();

  runner_.hold(true);
  pb::Job running;
  ASSERT_TRUE(submit(validate_request("running"), &running).ok());
  runner_.wait_started(3);
  st = del(running.id(), kToken);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("cancel it first"), std::string::npos) << st.error_message();
  pb::Job cancelled;
  ASSERT_TRUE(cancel_job(running.id(), kToken, &cancelled).ok());
  ASSERT_TRUE(watch(running.id(), 0).back().has_finished());
  st = del(running.id(), kToken);
  EXPECT_TRUE(st.ok()) << st.error_message();
  runner_.hold(false);
}

// Retention deletes ended jobs older than the given age, never a job that
// has not ended.
TEST_F(ServiceTest, ExpireDeletesEndedJobsPastTheirAgeOnly) {
  pb::Job done;
  ASSERT_TRUE(submit(validate_request("done"), &done).ok());
  ASSERT_TRUE(watch(done.id(), 0).back().has_finished());
  runner_.hold(true);
  pb::Job running;
  ASSERT_TRUE(submit(validate_request("running"), &running).ok());
  runner_.wait_started(2);
  auto kept = core_->expire(std::chrono::hours(24));  // it ended just now
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, 0);
  auto gone = core_->expire(std::chrono::hours(-1));  // every ended job is older than an hour from now
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 1);
  EXPECT_FALSE(store_->get(done.id())->has_value());
  EXPECT_TRUE(store_->get(running.id())->has_value());
  runner_.hold(false);
}

}  // namespace
}  // namespace racerig::racerigd

namespace racerig::racerigd {
namespace {

// The google.rpc.Status a failed call carried in its details; fails the
// test when there is none.
google::rpc::Status details_of(const grpc::Status& st) {
  google::rpc::Status out;
  EXPECT_FALSE(st.error_details().empty()) << st.error_message();
  EXPECT_TRUE(out.ParseFromString(st.error_details()));
  EXPECT_EQ(out.code(), static_cast<int>(st.error_code()));
  return out;
}

// INVALID_ARGUMENT carries a BadRequest naming the field; RESOURCE_EXHAUSTED
// a RetryInfo.
// ListWorkers: the pool's heartbeat with its load, backend and kernels;
// the jobs it runs to an admin only; gone once the pool stopped cleanly.
TEST_F(ServiceTest, ListWorkersShowsThePoolsLoadAndItsJobsToAnAdminOnly) {
  stop();
  held_ = {"k2", "k1"};
  start(10);
  runner_.hold(true);
  pb::Job job;
  ASSERT_TRUE(submit(validate_request(), &job).ok());
  runner_.wait_started(1);
  const auto workers = [&](const std::string& token) {
    auto c = ctx(token);
    pb::ListWorkersResponse resp;
    grpc::Status st = stub_->ListWorkers(c.get(), pb::ListWorkersRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  // The heartbeat after the claim says so (a deadline, not a timing claim).
  pb::ListWorkersResponse seen;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do seen = workers(kAdminToken);
  while ((seen.workers_size() != 1 || seen.workers(0).jobs_running() != 1) &&
         std::chrono::steady_clock::now() < until);
  ASSERT_EQ(seen.workers_size(), 1) << seen.DebugString();
  const pb::Worker& w = seen.workers(0);
  EXPECT_EQ(w.name(), pool_->owner_prefix());
  EXPECT_EQ(w.pid(), ::getpid());
  EXPECT_EQ(w.jobs_running(), 1);
  EXPECT_EQ(w.slots(), 1);
  EXPECT_EQ(w.backend(), "fake");
  EXPECT_EQ(std::vector<std::string>(w.kernels().begin(), w.kernels().end()), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(std::vector<std::string>(w.job_ids().begin(), w.job_ids().end()), std::vector<std::string>{job.id()});
  EXPECT_FALSE(w.lost());
  EXPECT_GT(w.started_unix_ms(), 0);
  pb::ListWorkersResponse theirs = workers(kOtherToken);
  ASSERT_EQ(theirs.workers_size(), 1);
  EXPECT_EQ(theirs.workers(0).job_ids_size(), 0) << "job ids are an admin's to see";
  EXPECT_EQ(theirs.workers(0).jobs_running(), 1);
  auto c = ctx("");
  pb::ListWorkersResponse none;
  EXPECT_EQ(stub_->ListWorkers(c.get(), pb::ListWorkersRequest(), &none).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  runner_.hold(false);
  pool_->stop();
  auto left = store_->workers();
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_TRUE(left->empty()) << "a pool that stopped cleanly is no longer listed";
}

TEST_F(ServiceTest, ErrorsCarryGoogleRpcDetails) {
  pb::SubmitValidateRequest bad = validate_request();
  bad.set_runs(0);
  pb::Job job;
  grpc::Status st = submit(bad, &job);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details = details_of(st);
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest request;
  ASSERT_TRUE(details.details(0).UnpackTo(&request));
  ASSERT_EQ(request.field_violations_size(), 1);
  EXPECT_EQ(request.field_violations(0).field(), "runs");
  EXPECT_NE(request.field_violations(0).description().find("from 1 to"), std::string::npos);

  bad = validate_request();
  bad.mutable_patches(0)->set_name(".hidden");
  st = submit(bad, &job);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  details = details_of(st);
  ASSERT_TRUE(details.details_size() == 1 && details.details(0).UnpackTo(&request));
  EXPECT_EQ(request.field_violations(0).field(), "patches[0].name");

  runner_.hold(true);  // fill the queue (2) behind a running job
  ASSERT_TRUE(submit(validate_request("1"), &job).ok());
  runner_.wait_started(1);
  ASSERT_TRUE(submit(validate_request("2"), &job).ok());
  ASSERT_TRUE(submit(validate_request("3"), &job).ok());
  st = submit(validate_request("4"), &job);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  details = details_of(st);
  google::rpc::RetryInfo retry;
  ASSERT_EQ(details.details_size(), 1);
  ASSERT_TRUE(details.details(0).UnpackTo(&retry));
  EXPECT_GT(retry.retry_delay().seconds(), 0);
  runner_.hold(false);
}

}  // namespace
}  // namespace racerig::racerigd
