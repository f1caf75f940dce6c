// The job store's contract (store.h) as one typed GoogleTest suite, run
// against every implementation: store_contract_sqlite_test.cc (unit) and
// store_contract_postgres_test.cc (integration: a server of its own).
//
// A backend is a class with
//   static constexpr bool kShared;  // other processes share the store
//   Result<std::unique_ptr<Store>> fresh();  // a new, empty store (called once per test)
//   Result<std::unique_ptr<Store>> again();  // another connection to it (another process's view)
// What only a shared store promises is tested where kShared holds, and
// skipped with the reason elsewhere: a SQLite store is one racerigd's (its
// state lock), so its waiters see the changes of their own process only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "rig/service/store.h"

namespace racerig::service {

// A reproduce job of `submitter`, with `request_id`.
inline pb::Job contract_job(const std::string& submitter = "ci", const std::string& request_id = "") {
  pb::Job job;
  job.set_submitter(submitter);
  job.set_request_id(request_id);
  job.mutable_reproduce()->mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault");
  return job;
}

template <typename Backend>
class StoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = backend_.fresh();
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  Store& s() { return *store_; }
  std::unique_ptr<Store> another() {
    auto s = backend_.again();
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }
  static pb::Job a_job(const std::string& submitter = "ci", const std::string& request_id = "") {
    return contract_job(submitter, request_id);
  }
  // Inserts a job; its id.
  std::string queue(const pb::Job& job = a_job()) {
    auto in = s().insert(job, 1000);
    EXPECT_TRUE(in.ok() && *in) << (in.ok() ? "refused" : in.error().message);
    return in.ok() && *in ? (*in)->job.id() : "";
  }
  // Claims the next job for `owner` with `lease`; nullopt when none.
  std::optional<pb::Job> claim(const std::string& owner, std::chrono::milliseconds lease = std::chrono::minutes(5)) {
    auto c = s().claim_next(owner, lease);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : std::nullopt;
  }
  static pb::JobEvent note(const std::string& text) {
    pb::JobEvent ev;
    ev.mutable_note()->set_text(text);
    return ev;
  }
  // The event kinds of a job with their attempts.
  std::vector<std::pair<int, int>> kinds(const std::string& id) {
    auto events = s().events_after(id, 0, 1000);
    EXPECT_TRUE(events.ok()) << events.error().message;
    std::vector<std::pair<int, int>> out;
    if (events.ok())
      for (const auto& e : *events) out.emplace_back(e.event_case(), e.attempt());
    return out;
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreContract);

// The life of a job: queued, claimed with a lease, events, finished once.
TYPED_TEST_P(StoreContract, AJobIsQueuedClaimedAndFinishedOnce) {
  const std::string id = this->queue();
  auto head = this->s().head(id);
  ASSERT_TRUE(head.ok() && *head);
  EXPECT_EQ((*head)->state, pb::QUEUED);
  auto job = this->claim("w1");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->id(), id);
  EXPECT_EQ(job->state(), pb::RUNNING);
  EXPECT_EQ(job->attempt(), 1);
  EXPECT_FALSE(this->claim("w2")) << "one queued job is claimed once";
  const Lease lease{"w1", 1};
  ASSERT_TRUE(this->s().append_event(id, lease, this->note("a run")).ok());
  job->set_state(pb::SUCCEEDED);
  auto done = this->s().finish(*job, lease);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->state(), pb::SUCCEEDED);
  EXPECT_GT(done->finished_unix_ms(), 0);
  auto again = this->s().finish(*job, lease);
  EXPECT_FALSE(again.ok()) << "a second finish is refused";
  auto late = this->s().append_event(id, lease, this->note("late"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("has ended"), std::string::npos) << late.error().message;
  const std::vector<std::pair<int, int>> want = {
      {pb::JobEvent::kQueued, 1}, {pb::JobEvent::kStarted, 1}, {pb::JobEvent::kNote, 1}, {pb::JobEvent::kFinished, 1}};
  EXPECT_EQ(this->kinds(id), want);
  auto stored = this->s().get(id);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ((*stored)->state(), pb::SUCCEEDED);
  EXPECT_EQ((*stored)->last_event_seq(), 4);
  EXPECT_FALSE(this->s().get("no-such-id").value_or(std::nullopt)) << "a bad id is no job, not an error";
}

// The same (submitter, request_id) makes one job; another submitter's is its own.
TYPED_TEST_P(StoreContract, ARequestIdMakesOneJobPerSubmitter) {
  auto first = this->s().insert(this->a_job("ci", "r1"), 10);
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_FALSE((*first)->existed);
  auto second = this->s().insert(this->a_job("ci", "r1"), 10);
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_TRUE((*second)->existed);
  EXPECT_EQ((*second)->job.id(), (*first)->job.id());
  auto other = this->s().insert(this->a_job("alice", "r1"), 10);
  ASSERT_TRUE(other.ok() && *other);
  EXPECT_FALSE((*other)->existed);
  EXPECT_EQ(*this->s().count(pb::QUEUED), 2);
}

// Many connections submit at once: the bounds hold exactly, and repeated
// request ids make one job each.
TYPED_TEST_P(StoreContract, TheQueueBoundHoldsUnderConcurrentSubmits) {
  constexpr int kThreads = 8, kEach = 10;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kThreads; ++i) {
    stores.push_back(this->another());
    ASSERT_TRUE(stores.back());
  }
  // Every thread submits kEach distinct requests as `submitter(t)`; threads
  // t and t+4 repeat each other's request ids. Returns the jobs accepted.
  const auto hammer = [&](const std::function<std::string(int)>& submitter, int bound, int per_submitter) {
    std::atomic<int> accepted{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string request = submitter(t) + "-" + std::to_string(t % 4) + "-" + std::to_string(i);
          auto in = stores[static_cast<size_t>(t)]->insert(contract_job(submitter(t), request), bound, per_submitter);
          if (!in.ok())
            ++errors;
          else if (*in && !(*in)->existed)
            ++accepted;
        }
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    return accepted.load();
  };
  // The queue's bound: 40 distinct requests offered, 25 taken.
  const int taken = hammer([](int t) { return "s" + std::to_string(t % 4); }, 25, 0);
  EXPECT_EQ(taken, 25);
  EXPECT_EQ(*this->s().count(pb::QUEUED), 25);
  // One submitter's bound: 40 distinct requests of "solo" offered, 7 taken.
  const int solo = hammer([](int) { return std::string("solo"); }, 1000, 7);
  EXPECT_EQ(solo, 7);
  EXPECT_EQ(*this->s().count(pb::QUEUED, "solo"), 7);
  EXPECT_EQ(*this->s().count(pb::QUEUED), 32);
}

// Workers on many connections claim at once: every job once, none twice.
TYPED_TEST_P(StoreContract, ConcurrentClaimsNeverShareAJob) {
  constexpr int kJobs = 40, kWorkers = 6;
  for (int i = 0; i < kJobs; ++i) this->queue();
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kWorkers; ++i) {
    stores.push_back(this->another());
    ASSERT_TRUE(stores.back());
  }
  std::mutex mu;
  std::map<std::string, int> claims;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      const std::string owner = "w" + std::to_string(w);
      for (;;) {
        auto c = stores[static_cast<size_t>(w)]->claim_next(owner, std::chrono::minutes(5));
        if (!c.ok()) {
          ++errors;
          continue;
        }
        if (!*c) return;
        std::lock_guard<std::mutex> lock(mu);
        ++claims[(*c)->id()];
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << "job " << id;
  EXPECT_EQ(*this->s().count(pb::RUNNING), kJobs);
}

// A worker that stops renewing loses the job: it is queued again, the next
// attempt is another worker's, and every write of the stale attempt is
// refused, naming it.
TYPED_TEST_P(StoreContract, AnExpiredLeaseRequeuesAndFencesTheStaleAttempt) {
  const std::string id = this->queue();
  auto first = this->claim("dead-worker", std::chrono::milliseconds(0));  // expired at once
  ASSERT_TRUE(first);
  const Lease stale{"dead-worker", 1};
  auto requeued = this->s().requeue_expired(3);
  ASSERT_TRUE(requeued.ok()) << requeued.error().message;
  EXPECT_EQ(*requeued, 1);
  EXPECT_EQ((*this->s().head(id))->state, pb::QUEUED);
  auto refused = this->s().append_event(id, stale, this->note("from the dead"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("dead-worker"), std::string::npos) << refused.error().message;
  auto second = this->claim("live-worker");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt(), 2);
  const Lease live{"live-worker", 2};
  pb::Job stale_end = *first;
  stale_end.set_state(pb::FAILED);
  auto fenced_finish = this->s().finish(stale_end, stale);
  ASSERT_FALSE(fenced_finish.ok());
  EXPECT_NE(fenced_finish.error().message.find("attempt 1 of \"dead-worker\""), std::string::npos)
      << fenced_finish.error().message;
  EXPECT_NE(fenced_finish.error().message.find("live-worker"), std::string::npos) << fenced_finish.error().message;
  auto renewal = this->s().renew(id, stale, std::chrono::minutes(5));
  ASSERT_TRUE(renewal.ok());
  EXPECT_FALSE(renewal->held);
  ASSERT_TRUE(this->s().requeue(id, stale, "a stale requeue").ok());
  EXPECT_EQ((*this->s().head(id))->state, pb::RUNNING) << "a stale requeue changes nothing";
  EXPECT_EQ(this->s().requeue_expired(3).value_or(-1), 0) << "the live lease has not expired";
  ASSERT_TRUE(this->s().append_event(id, live, this->note("attempt 2")).ok());
  second->set_state(pb::SUCCEEDED);
  auto done = this->s().finish(*second, live);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->attempt(), 2);
  const std::vector<std::pair<int, int>> want = {{pb::JobEvent::kQueued, 1},  {pb::JobEvent::kStarted, 1},
                                                 {pb::JobEvent::kRequeued, 1}, {pb::JobEvent::kStarted, 2},
                                                 {pb::JobEvent::kNote, 2},     {pb::JobEvent::kFinished, 2}};
  EXPECT_EQ(this->kinds(id), want);
}

// A renewed lease keeps the job; a renewal reports a cancel requested
// through any connection.
TYPED_TEST_P(StoreContract, ARenewalKeepsTheJobAndCarriesACancel) {
  const std::string id = this->queue();
  auto job = this->claim("w1", std::chrono::milliseconds(0));
  ASSERT_TRUE(job);
  const Lease lease{"w1", 1};
  auto renewal = this->s().renew(id, lease, std::chrono::minutes(5));
  ASSERT_TRUE(renewal.ok()) << renewal.error().message;
  EXPECT_TRUE(renewal->held);
  EXPECT_FALSE(renewal->cancelled_by);
  EXPECT_EQ(this->s().requeue_expired(3).value_or(-1), 0) << "renewed: not expired";
  auto other = this->another();
  ASSERT_TRUE(other);
  auto c = other->cancel(id, "alice");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Store::Cancelled::kRequested);
  renewal = this->s().renew(id, lease, std::chrono::minutes(5));
  ASSERT_TRUE(renewal.ok());
  EXPECT_TRUE(renewal->held);
  EXPECT_EQ(renewal->cancelled_by.value_or(""), "alice");
  EXPECT_FALSE(this->s().renew("999999", lease, std::chrono::minutes(5)).ok()) << "an unknown job";
}

// A job whose every attempt lost its worker ends INTERRUPTED; a running job
// cancelled before its lease expired ends CANCELLED.
TYPED_TEST_P(StoreContract, ExpiredLeasesEndAJobAfterItsLastAttempt) {
  const std::string id = this->queue();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_TRUE(this->claim("w" + std::to_string(attempt), std::chrono::milliseconds(0)));
    ASSERT_TRUE(this->s().requeue_expired(2).ok());
  }
  auto job = this->s().get(id);
  ASSERT_TRUE(job.ok() && *job);
  EXPECT_EQ((*job)->state(), pb::INTERRUPTED);
  EXPECT_NE((*job)->error().find("each of 2 attempts"), std::string::npos) << (*job)->error();

  const std::string cancelled = this->queue();
  ASSERT_TRUE(this->claim("w3", std::chrono::milliseconds(0)));
  ASSERT_EQ(*this->s().cancel(cancelled, "alice"), Store::Cancelled::kRequested);
  ASSERT_TRUE(this->s().requeue_expired(3).ok());
  auto after = this->s().get(cancelled);
  EXPECT_EQ((*after)->state(), pb::CANCELLED);
  EXPECT_EQ((*after)->cancelled_by(), "alice");
}

// recover() (a store's only user, at start-up) requeues every running job,
// expired or not.
TYPED_TEST_P(StoreContract, RecoverRequeuesEveryRunningJob) {
  const std::string id = this->queue();
  ASSERT_TRUE(this->claim("w1", std::chrono::minutes(5)));
  auto n = this->s().recover(3);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  auto again = this->claim("w2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt(), 2);
}

TYPED_TEST_P(StoreContract, ACancelIsDecidedAgainstTheClaim) {
  Store& s = this->s();
  const std::string first = this->queue();
  auto c = s.cancel(first, "ci");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Store::Cancelled::kNow);
  EXPECT_EQ((*s.get(first))->state(), pb::CANCELLED);
  EXPECT_FALSE(this->claim("w1")) << "a cancelled job is never claimed";
  const std::string id = this->queue();
  ASSERT_TRUE(this->claim("w1"));
  EXPECT_FALSE(s.cancel_requested(id)->has_value());
  EXPECT_EQ(*s.cancel(id, "alice"), Store::Cancelled::kRequested);
  EXPECT_EQ(s.cancel_requested(id)->value_or(""), "alice");
  EXPECT_EQ(*s.cancel(id, "ci"), Store::Cancelled::kAlready);
  ASSERT_TRUE(s.requeue(id, Lease{"w1", 1}, "the daemon stopped").ok());
  auto after = s.get(id);
  EXPECT_EQ((*after)->state(), pb::CANCELLED);
  EXPECT_EQ((*after)->cancelled_by(), "alice");
  EXPECT_FALSE(s.cancel("424242", "ci").ok()) << "an unknown job";
}

// Listings: newest first, by state and submitter, a page at a time, without
// reports or patch contents; retention and deletion of ended jobs only.
TYPED_TEST_P(StoreContract, ListingsPagesAndRetention) {
  Store& s = this->s();
  pb::Job with_patch = this->a_job("alice");
  with_patch.mutable_validate()->add_patches()->set_content("a patch body");
  const std::string a = this->queue(with_patch);
  const std::string b = this->queue(this->a_job("ci"));
  const std::string c = this->queue(this->a_job("ci"));
  auto job = this->claim("w1");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->id(), a);
  job->set_state(pb::SUCCEEDED);
  job->mutable_reproduce_report()->add_runs()->set_console("a console");
  ASSERT_TRUE(s.finish(*job, Lease{"w1", 1}).ok());

  auto all = s.list({}, std::nullopt, 0, 10);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id(), c);
  EXPECT_EQ((*all)[2].id(), a);
  EXPECT_FALSE((*all)[2].has_reproduce_report()) << "a listing has no report";
  EXPECT_EQ((*all)[2].validate().patches(0).content(), "") << "nor patch contents";
  EXPECT_EQ((*all)[2].last_event_seq(), 3);
  auto page = s.list({}, std::nullopt, std::stoll(c), 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ(page->front().id(), b);
  auto ci_queued = s.list({pb::QUEUED}, std::string("ci"), 0, 10);
  ASSERT_TRUE(ci_queued.ok());
  EXPECT_EQ(ci_queued->size(), 2u);
  EXPECT_EQ(s.list({pb::SUCCEEDED, pb::FAILED}, std::nullopt, 0, 10)->size(), 1u);
  EXPECT_EQ(*s.count(pb::QUEUED, "alice"), 0);

  EXPECT_FALSE(*s.remove(b)) << "a queued job is not deleted";
  auto old = s.ended_before(now_unix_ms() + 60000);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);
  EXPECT_TRUE(old->front().has_reproduce_report()) << "as stored";
  EXPECT_TRUE(s.ended_before(old->front().finished_unix_ms())->empty());
  EXPECT_TRUE(*s.remove(a));
  EXPECT_FALSE(s.get(a)->has_value());
  EXPECT_TRUE(s.events_after(a, 0, 10)->empty());
}

// A change made through any connection of a shared store wakes a waiter
// of another (LISTEN/NOTIFY, not polling).
TYPED_TEST_P(StoreContract, AChangeElsewhereWakesAWaiter) {
  if (!TypeParam::kShared)
    GTEST_SKIP() << "a SQLite store is one racerigd's (its state lock): its waiters see their own process's changes "
                    "only, which the service tests cover";
  auto other = this->another();
  ASSERT_TRUE(other);
  const uint64_t seen = this->s().generation();
  std::thread writer([&] { ASSERT_TRUE(other->insert(contract_job(), 10).ok()); });
  // Waits for the notification: a generous deadline, not a timing claim.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (this->s().generation() == seen && std::chrono::steady_clock::now() < deadline)
    this->s().wait_for_change(seen, std::chrono::seconds(5));
  writer.join();
  EXPECT_NE(this->s().generation(), seen) << "no wake-up within 60 s";
}

// A heartbeat per worker: the latest replaces the last; one older than its
// lease is lost; a worker that stopped cleanly is gone.
TYPED_TEST_P(StoreContract, WorkersHeartbeatsShowLoadAndTheLostOnes) {
  pb::Worker alive;
  alive.set_name("host-a:10");
  alive.set_host("host-a");
  alive.set_pid(10);
  alive.set_started_unix_ms(now_unix_ms() - 5000);
  alive.set_slots(2);
  alive.set_jobs_running(1);
  alive.set_backend("qemu");
  alive.add_kernels("k1");
  alive.add_job_ids("7");
  ASSERT_TRUE(this->s().heartbeat(alive, std::chrono::minutes(5)).ok());
  pb::Worker silent = alive;
  silent.set_name("host-b:20");
  ASSERT_TRUE(this->s().heartbeat(silent, std::chrono::milliseconds(0)).ok());  // lost at once
  alive.set_jobs_running(2);  // a later heartbeat replaces the first
  ASSERT_TRUE(this->s().heartbeat(alive, std::chrono::minutes(5)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto other = this->another();
  ASSERT_TRUE(other);
  auto all = other->workers();  // as every process sees them
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  const pb::Worker& a = (*all)[0];
  EXPECT_EQ(a.name(), "host-a:10");
  EXPECT_FALSE(a.lost());
  EXPECT_EQ(a.jobs_running(), 2);
  EXPECT_EQ(a.slots(), 2);
  EXPECT_EQ(a.backend(), "qemu");
  EXPECT_EQ(std::vector<std::string>(a.kernels().begin(), a.kernels().end()), std::vector<std::string>{"k1"});
  EXPECT_EQ(a.lease_ms(), 300000);
  EXPECT_GT(a.last_heartbeat_unix_ms(), 0);
  EXPECT_LT(a.heartbeat_age_ms(), 300000);
  EXPECT_EQ((*all)[1].name(), "host-b:20");
  EXPECT_TRUE((*all)[1].lost()) << "no heartbeat within its lease";
  ASSERT_TRUE(this->s().remove_worker("host-a:10").ok());
  ASSERT_TRUE(this->s().remove_worker("no-such-worker").ok());
  all = this->s().workers();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().name(), "host-b:20");
}

// Affinity: a job waits for a live worker that holds its kernels and has a
// free slot; another worker takes it once it waited long enough, or when
// the holder is lost or busy. Jobs that need nothing, or kernels nobody
// holds, are anyone's.
TYPED_TEST_P(StoreContract, AJobPrefersAWorkerHoldingItsKernels) {
  const auto beat = [&](const std::string& name, std::vector<std::string> kernels, int running,
                        std::chrono::milliseconds lease) {
    pb::Worker w;
    w.set_name(name);
    w.set_slots(1);
    w.set_jobs_running(running);
    for (auto& k : kernels) w.add_kernels(k);
    ASSERT_TRUE(this->s().heartbeat(w, lease).ok());
  };
  const auto needing = [&](std::vector<std::string> kernels) {
    pb::Job job = this->a_job();
    for (auto& k : kernels) job.add_kernel_keys(k);
    return this->queue(job);
  };
  const auto claim = [&](const std::string& worker, std::vector<std::string> held, std::chrono::milliseconds wait) {
    auto c = this->s().claim_next(worker + "/0", std::chrono::minutes(5), 0, Affinity{worker, std::move(held), wait});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() && *c ? (*c)->id() : std::string("none");
  };
  constexpr auto kLong = std::chrono::hours(1);
  beat("holder", {"k1", "k2"}, 0, std::chrono::minutes(5));
  beat("bare", {}, 0, std::chrono::minutes(5));
  const std::string held = needing({"k1", "k2"});
  const std::string partly = needing({"k1", "k3"});  // nobody holds k3
  const std::string plain = needing({});
  EXPECT_EQ(claim("bare", {}, kLong), partly) << "the first job waits for its holder";
  EXPECT_EQ(claim("bare", {}, kLong), plain);
  EXPECT_EQ(claim("bare", {}, kLong), "none") << "job " << held << " waits for the worker that holds k1 and k2";
  EXPECT_EQ(claim("holder", {"k1", "k2"}, kLong), held);

  // The holder lost (no heartbeat within its lease): anyone's at once.
  const std::string orphan = needing({"k1"});
  beat("holder", {"k1", "k2"}, 0, std::chrono::milliseconds(0));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(claim("bare", {}, kLong), orphan);
  // The holder busy (no free slot): anyone's.
  const std::string busy = needing({"k2"});
  beat("holder", {"k1", "k2"}, 1, std::chrono::minutes(5));
  EXPECT_EQ(claim("bare", {}, kLong), busy);
  // The holder idle, but the job waited past the bound: anyone's.
  beat("holder", {"k1", "k2"}, 0, std::chrono::minutes(5));
  const std::string waited = needing({"k1"});
  EXPECT_EQ(claim("bare", {}, kLong), "none");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(claim("bare", {}, std::chrono::milliseconds(10)), waited);
  // A claim without affinity takes every job in order.
  const std::string any = needing({"k1"});
  auto c = this->s().claim_next("plain/0", std::chrono::minutes(5));
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ((*c)->id(), any);
  // A requeued job's wait starts again: it prefers its holder anew.
  ASSERT_TRUE(this->s().requeue(any, Lease{"plain/0", 1}, "the daemon stopped").ok());
  EXPECT_EQ(claim("bare", {}, std::chrono::seconds(60)), "none");
  EXPECT_EQ(claim("holder", {"k1", "k2"}, kLong), any);
}

REGISTER_TYPED_TEST_SUITE_P(StoreContract, AJobIsQueuedClaimedAndFinishedOnce, ARequestIdMakesOneJobPerSubmitter,
                            TheQueueBoundHoldsUnderConcurrentSubmits, ConcurrentClaimsNeverShareAJob,
                            AnExpiredLeaseRequeuesAndFencesTheStaleAttempt, ARenewalKeepsTheJobAndCarriesACancel,
                            ExpiredLeasesEndAJobAfterItsLastAttempt, RecoverRequeuesEveryRunningJob,
                            ACancelIsDecidedAgainstTheClaim, ListingsPagesAndRetention, AChangeElsewhereWakesAWaiter,
                            WorkersHeartbeatsShowLoadAndTheLostOnes, AJobPrefersAWorkerHoldingItsKernels);

}  // namespace racerig::service
