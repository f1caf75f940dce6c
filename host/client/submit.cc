// Submitting jobs to racerigd (see submit.h).
#include "host/client/submit.h"

#include <random>
#include <sstream>
#include <thread>

namespace racerig::client {

namespace {

Error error_of(const std::string& server, const grpc::Status& st) {
  return make_error(exit_code_of(st) == 2 ? ErrorKind::kInput : ErrorKind::kIo, status_text(server, st));
}

Result<pb::Job> submit(Connection& c, const pb::SubmitRequest& request) {
  pb::Job job;
  grpc::Status st;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto ctx = c.context(60);
    st = c.stub().Submit(ctx.get(), request, &job);
    if (st.ok()) return job;
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // same request_id: a retry cannot queue twice
  }
  return error_of(c.server(), st);
}

}  // namespace

std::string new_request_id() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd() << rd() << rd();
  return out.str();
}

Result<pb::Job> submit_and_follow(const ServerOptions& server, const pb::SubmitRequest& request,
                                  jobs::JobObserver& observer, const StatusLine& status) {
  RACERIG_ASSIGN(Connection c, Connection::open(server));
  RACERIG_ASSIGN(pb::Job job, submit(c, request));
  status("job " + job.id() + " on " + c.server() + " (racerig watch " + job.id() + ")");
  return follow_job(c, job.id(), 0, observer, status);
}

}  // namespace racerig::client
