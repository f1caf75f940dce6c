// Submitting jobs to racerigd (see submit.h).
#include "host/client/submit.h"

#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "rig/base/file.h"

namespace racerig::client {

namespace {

Error error_of(const std::string& server, const grpc::Status& st) {
  return make_error(exit_code_of(st) == 2 ? ErrorKind::kInput : ErrorKind::kIo, status_text(server, st));
}

template <typename Request, typename Call>
Result<pb::Job> submit(Connection& c, const Request& request, Call call) {
  pb::Job job;
  grpc::Status st;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto ctx = c.context(60);
    st = call(ctx.get(), request, &job);
    if (st.ok()) return job;
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // same request_id: a retry cannot queue twice
  }
  return error_of(c.server(), st);
}

Result<pb::Job> follow(Connection& c, const pb::Job& job, jobs::JobObserver& observer, const StatusLine& status) {
  status("job " + job.id() + " on " + c.server() + " (racerig watch " + job.id() + ")");
  return follow_job(c, job.id(), 0, observer, status);
}

}  // namespace

std::string new_request_id() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd() << rd() << rd();
  return out.str();
}

Status add_patch_files(const std::vector<std::string>& paths, pb::SubmitValidateRequest& request) {
  for (const auto& path : paths) {
    RACERIG_ASSIGN(std::string content, read_file(path, "patch"));
    auto* p = request.add_patches();
    p->set_name(std::filesystem::path(path).filename().string());
    p->set_content(std::move(content));
  }
  return Status::Ok();
}

Result<pb::ScenarioRef> scenario_ref(const std::string& arg) {
  pb::ScenarioRef ref;
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    RACERIG_ASSIGN(std::string text, read_file(arg, "scenario"));
    ref.set_textproto(std::move(text));
  } else {
    ref.set_name(arg);
  }
  return ref;
}

Result<pb::Job> submit_and_follow(const ServerOptions& server, const pb::SubmitReproduceRequest& request,
                                  jobs::JobObserver& observer, const StatusLine& status) {
  RACERIG_ASSIGN(Connection c, Connection::open(server));
  RACERIG_ASSIGN(pb::Job job, submit(c, request, [&](grpc::ClientContext* ctx, const auto& r, pb::Job* out) {
                   return c.stub().SubmitReproduce(ctx, r, out);
                 }));
  return follow(c, job, observer, status);
}

Result<pb::Job> submit_and_follow(const ServerOptions& server, const pb::SubmitValidateRequest& request,
                                  jobs::JobObserver& observer, const StatusLine& status) {
  RACERIG_ASSIGN(Connection c, Connection::open(server));
  RACERIG_ASSIGN(pb::Job job, submit(c, request, [&](grpc::ClientContext* ctx, const auto& r, pb::Job* out) {
                   return c.stub().SubmitValidate(ctx, r, out);
                 }));
  return follow(c, job, observer, status);
}

}  // namespace racerig::client
