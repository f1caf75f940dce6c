// Following a job on racerigd (see follow.h).
#include "host/client/follow.h"

#include <google/protobuf/util/json_util.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "rig/process/cancel.h"
#include "rig/verdict/verdict.h"

namespace racerig::client {

namespace {

// The Job field that holds a report of `kind`; null for no kind.
const google::protobuf::FieldDescriptor* report_field(pb::JobKind kind) {
  const char* name = kind == pb::REPRODUCE ? "reproduce_report"
                     : kind == pb::VALIDATE ? "validate_report"
                     : kind == pb::STRESS   ? "stress_report"
                     : kind == pb::EXPLORE  ? "explore_report"
                                            : nullptr;
  return name ? pb::Job::descriptor()->FindFieldByName(name) : nullptr;
}

// The Finished event's report leaves the runs' consoles out (and a report
// too large for one message, altogether): the full one is ReadArtifact's
// "report.json", read here. A server without ReadArtifact, or a failed
// read, leaves the event's report as it is (saying so when it had none).
void complete_report(Connection& connection, pb::Job& job, const StatusLine& status) {
  const google::protobuf::FieldDescriptor* field = report_field(job.kind());
  if (field == nullptr || (job.report_case() == pb::Job::REPORT_NOT_SET && !job.report_omitted())) return;
  pb::ReadArtifactRequest req;
  req.set_id(job.id());
  req.set_name("report.json");
  auto ctx = connection.context(120);
  auto reader = connection.stub().ReadArtifact(ctx.get(), req);
  std::string json;
  pb::ArtifactChunk chunk;
  while (reader->Read(&chunk)) json += chunk.data();
  grpc::Status st = reader->Finish();
  google::protobuf::Message* report = job.GetReflection()->MutableMessage(&job, field);
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  pb::Job parsed;
  google::protobuf::Message* into = parsed.GetReflection()->MutableMessage(&parsed, field);
  if (st.ok() && google::protobuf::util::JsonStringToMessage(json, into, opts).ok()) {
    report->CopyFrom(*into);
    job.set_report_omitted(false);
    return;
  }
  if (job.report_omitted())
    status("job " + job.id() + ": its report is too large for one message and could not be read (" +
           (st.ok() ? std::string("it does not parse") : st.error_message()) + "): racerig artifact " + job.id() +
           " report.json");
}

// Turns one event into the observer's call or a status line. An event of
// an attempt the daemon's death interrupted (superseded) is a status line
// only: its runs are not results.
void dispatch(const pb::JobEvent& ev, jobs::JobObserver& observer, const StatusLine& status) {
  if (ev.superseded()) {
    status(event_line(ev));
    return;
  }
  switch (ev.event_case()) {
    case pb::JobEvent::kKernelStage: observer.stage(ev.kernel_stage().variant(), ev.kernel_stage().what()); break;
    case pb::JobEvent::kKernelCompile: {
      const auto& c = ev.kernel_compile();
      observer.compile(c.variant(), c.line(), kbuild::BuildProgress{c.steps(), c.estimated_steps(), c.elapsed_s()});
      break;
    }
    case pb::JobEvent::kNote: observer.note(ev.note().text()); break;
    case pb::JobEvent::kRunFinished: observer.run_done(ev.run_finished().label(), ev.run_finished().report()); break;
    case pb::JobEvent::kQueued:
    case pb::JobEvent::kStarted: status(event_line(ev)); break;
    case pb::JobEvent::kRequeued:
      status(event_line(ev) + ": the runs of attempt " + std::to_string(ev.attempt()) +
             " were interrupted and do not count; the report will be attempt " +
             std::to_string(ev.requeued().attempt()) + "'s or a later one's");
      break;
    default: break;
  }
}

}  // namespace

std::string event_line(const pb::JobEvent& ev) {
  const std::string label = ev.superseded()  ? " [attempt " + std::to_string(ev.attempt()) + ", superseded]"
                            : ev.attempt() > 1 ? " [attempt " + std::to_string(ev.attempt()) + "]"
                                               : "";
  const std::string head = "job " + ev.job_id() + " #" + std::to_string(ev.seq()) + label + ": ";
  switch (ev.event_case()) {
    case pb::JobEvent::kQueued: return head + "queued (" + std::to_string(ev.queued().ahead()) + " ahead)";
    case pb::JobEvent::kStarted: return head + "started (attempt " + std::to_string(ev.started().attempt()) + ")";
    case pb::JobEvent::kKernelStage: return head + "kernel " + ev.kernel_stage().variant() + ": " + ev.kernel_stage().what();
    case pb::JobEvent::kKernelCompile:
      return head + "kernel " + ev.kernel_compile().variant() + ": " + std::to_string(ev.kernel_compile().steps()) +
             " compile steps";
    case pb::JobEvent::kNote: return head + ev.note().text();
    case pb::JobEvent::kRunFinished: {
      const auto& r = ev.run_finished().report();
      return head + r.scenario() + " " + ev.run_finished().label() + " run " + std::to_string(r.run()) + ": " +
             verdict::verdict_name(r.verdict());
    }
    case pb::JobEvent::kRequeued:
      return head + "requeued for attempt " + std::to_string(ev.requeued().attempt()) + " (" + ev.requeued().reason() + ")";
    case pb::JobEvent::kFinished: {
      const auto& j = ev.finished().job();
      return head + "finished: " + pb::JobState_Name(j.state()) + ", exit " + std::to_string(j.exit_code()) +
             (j.error().empty() ? "" : " (" + j.error() + ")");
    }
    default: return head + "(unknown event)";
  }
}

void AttemptRuns::add(const pb::JobEvent& event) {
  if (event.attempt() > last_attempt) {
    earlier_runs += last_runs;
    last_runs = 0;
    last_attempt = event.attempt();
  }
  if (!event.has_run_finished()) return;
  if (event.attempt() < last_attempt)
    ++earlier_runs;
  else
    ++last_runs;
}

Result<pb::Job> follow_job(Connection& connection, const std::string& id, int64_t after_seq,
                           jobs::JobObserver& observer, const StatusLine& status, double reconnect_s) {
  // Ctrl-C: ask the server to cancel, once, and keep following.
  std::atomic<bool> done{false};
  std::thread interrupt([&] {
    while (!done) {
      pollfd p{process::cancel_fd(), POLLIN, 0};
      if (p.fd < 0 || ::poll(&p, 1, 200) <= 0) {
        if (p.fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      status("interrupted: cancelling job " + id + " on " + connection.server());
      pb::CancelJobRequest req;
      req.set_id(id);
      pb::Job ignored;
      auto ctx = connection.context(10);
      (void)connection.stub().CancelJob(ctx.get(), req, &ignored);
      return;
    }
  });
  struct Join {
    std::atomic<bool>& done;
    std::thread& t;
    ~Join() {
      done = true;
      t.join();
    }
  } join{done, interrupt};

  int64_t seq = after_seq;
  auto unreachable_since = std::chrono::steady_clock::now();
  double backoff = 0.2;
  while (true) {
    auto ctx = connection.context(0);
    pb::WatchJobRequest req;
    req.set_id(id);
    req.set_after_seq(seq);
    auto reader = connection.stub().WatchJob(ctx.get(), req);
    pb::JobEvent ev;
    bool got_any = false;
    while (reader->Read(&ev)) {
      got_any = true;
      seq = ev.seq();
      if (ev.has_finished()) {
        ctx->TryCancel();
        (void)reader->Finish();
        pb::Job job = ev.finished().job();
        complete_report(connection, job, status);
        return job;
      }
      dispatch(ev, observer, status);
    }
    grpc::Status st = reader->Finish();
    if (st.error_code() == grpc::StatusCode::NOT_FOUND || st.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        st.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
      return make_error(ErrorKind::kInput, status_text(connection.server(), st));
    // The stream broke (or ended without Finished): resume from `seq`.
    const auto now = std::chrono::steady_clock::now();
    if (got_any) {
      unreachable_since = now;
      backoff = 0.2;
    }
    if (std::chrono::duration<double>(now - unreachable_since).count() > reconnect_s)
      return make_error(ErrorKind::kTimeout, status_text(connection.server(), st) + " (for " +
                                                 std::to_string(static_cast<int>(reconnect_s)) + " s; job " + id +
                                                 " may still run: racerig watch " + id + ")");
    if (!got_any && backoff >= 1.0) status("lost " + connection.server() + " (" + st.error_message() + "); retrying");
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(backoff * 1000)));
    backoff = std::min(backoff * 2, 5.0);
  }
}

}  // namespace racerig::client
