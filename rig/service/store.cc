// What every job store shares (see store.h): the change signal, summaries,
// job ids, and the one decision on an orphaned job.
#include "rig/service/store.h"

#include <chrono>

namespace racerig::service {

void ChangeSignal::bump() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

uint64_t ChangeSignal::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void ChangeSignal::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return generation_ != seen; });
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_final(pb::JobState s) {
  return s == pb::SUCCEEDED || s == pb::FAILED || s == pb::CANCELLED || s == pb::INTERRUPTED;
}

pb::Job summary_of(const pb::Job& job) {
  pb::Job out = job;
  out.clear_report();
  if (out.has_validate())
    for (auto& p : *out.mutable_validate()->mutable_patches()) p.clear_content();
  return out;
}

Result<int64_t> parse_job_id(const std::string& id) {
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
    return make_error(ErrorKind::kInput, "id: \"" + id + "\" is not a job id (a number)");
  return static_cast<int64_t>(std::stoll(id));
}

pb::Job orphan_outcome(pb::Job job, int max_attempts, const std::string& why) {
  if (!job.cancelled_by().empty()) {  // cancelled while it ran: the cancel stands
    job.set_state(pb::CANCELLED);
    job.set_exit_code(3);
    job.set_error("cancelled by " + job.cancelled_by() + " (" + why + " before the run stopped)");
  } else if (job.attempt() >= max_attempts) {
    job.set_state(pb::INTERRUPTED);
    job.set_exit_code(3);
    job.set_error(why + " during each of " + std::to_string(job.attempt()) + " attempts");
  } else {
    job.set_state(pb::QUEUED);
  }
  return job;
}

Error fenced(const std::string& job_id, const Lease& stale, const std::string& now) {
  return make_error(ErrorKind::kInput, "job " + job_id + ": attempt " + std::to_string(stale.attempt) + " of \"" +
                                           stale.owner + "\" no longer holds the job's lease (now " + now +
                                           "): its write is refused");
}

}  // namespace racerig::service
