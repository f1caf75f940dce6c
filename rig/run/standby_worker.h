// A thread that runs jobs in order (SnapshotRunner restores standby VMs on
// it).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace racerig::run {

// The thread that restores standby VMs. QEMU's PR_SET_PDEATHSIG follows the
// thread that forked it, not the process, so that thread must outlive every
// VM it starts: it lives as long as the runner's state.
class StandbyWorker {
 public:
  StandbyWorker() : thread_([this] { loop(); }) {}
  ~StandbyWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  StandbyWorker(const StandbyWorker&) = delete;
  StandbyWorker& operator=(const StandbyWorker&) = delete;
  // Runs `job` on the thread, after the ones submitted before it.
  template <typename F>
  auto submit(F job) -> std::future<decltype(job())> {
    auto task = std::make_shared<std::packaged_task<decltype(job())()>>(std::move(job));
    auto result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back([task] { (*task)(); });
    }
    cv_.notify_all();
    return result;
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace racerig::run
