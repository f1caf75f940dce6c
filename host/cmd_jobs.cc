// racerig jobs | job ID | watch ID | cancel ID | artifact ID NAME | delete ID:
// the daemon's jobs from the command line.
#include <cstdio>
#include <ctime>

#include "host/cli_util.h"
#include "rig/base/file.h"
#include "host/client/connection.h"
#include "host/client/follow.h"
#include "host/commands.h"
#include "host/server_options.h"

namespace racerig::host {

namespace {

struct JobsOptions {
  ServerArgs server;
  std::vector<std::string> states;
  int page_size = 50;
  std::string page_token;
  std::string id;           // job, watch, cancel
  std::string json, junit;  // job
  long long after = 0;      // watch
  std::string name, out;    // artifact
};

int call_failed(const client::Connection& c, const grpc::Status& st) {
  std::fprintf(stderr, "racerig: %s\n", client::status_text(c.server(), st).c_str());
  return client::exit_code_of(st);
}

std::string when(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
  return buf;
}

std::string scenario_name(const pb::ScenarioRef& ref) { return ref.has_name() ? ref.name() : std::string("(inline)"); }

// One line saying what the job does, by its kind.
std::string what(const pb::Job& j) {
  if (j.has_reproduce())
    return "reproduce " + scenario_name(j.reproduce().scenario()) + " on " + j.reproduce().kernel();
  if (j.has_explore()) return "explore " + scenario_name(j.explore().scenario()) + " on " + j.explore().kernel();
  if (j.has_stress())
    return "stress " + scenario_name(j.stress().scenario()) + " on " + j.stress().kernel() + " (" +
           std::to_string(j.stress().runs()) + " x " + std::to_string(j.stress().duration_s()) + " s)";
  std::string s = "validate";
  for (const auto& p : j.validate().patches()) s += " " + p.name();
  return s + " on " + (j.validate().base().empty() ? std::string("buggy") : j.validate().base());
}

int list_jobs(const JobsOptions& o) {
  auto c = client::Connection::open(o.server.options());
  if (!c.ok()) return report_error("jobs", c.error());
  pb::ListJobsRequest req;
  for (const auto& s : o.states) {
    pb::JobState state;
    if (!pb::JobState_Parse(s, &state))
      return report_error("jobs", make_error(ErrorKind::kInput, "--state: unknown state \"" + s + "\""));
    req.add_states(state);
  }
  req.set_page_size(o.page_size);
  req.set_page_token(o.page_token);
  pb::ListJobsResponse resp;
  auto ctx = c->context();
  grpc::Status st = c->stub().ListJobs(ctx.get(), req, &resp);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("%-6s %-11s %-4s %-19s %-12s %s\n", "id", "state", "exit", "submitted (UTC)", "submitter", "what");
  for (const auto& j : resp.jobs())
    std::printf("%-6s %-11s %-4s %-19s %-12s %s\n", j.id().c_str(), pb::JobState_Name(j.state()).c_str(),
                j.finished_unix_ms() ? std::to_string(j.exit_code()).c_str() : "-", when(j.submitted_unix_ms()).c_str(),
                j.submitter().c_str(), what(j).c_str());
  if (!resp.next_page_token().empty())
    std::printf("more: racerig jobs --page-token %s\n", resp.next_page_token().c_str());
  return kExitOk;
}

int show_job(const JobsOptions& o) {
  auto c = client::Connection::open(o.server.options());
  if (!c.ok()) return report_error("job", c.error());
  pb::GetJobRequest req;
  req.set_id(o.id);
  pb::Job job;
  auto ctx = c->context();
  grpc::Status st = c->stub().GetJob(ctx.get(), req, &job);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("job %s: %s\n  state %s, attempt %d, submitter %s\n  submitted %s, started %s, finished %s\n",
              job.id().c_str(), what(job).c_str(), pb::JobState_Name(job.state()).c_str(), job.attempt(),
              job.submitter().c_str(), when(job.submitted_unix_ms()).c_str(), when(job.started_unix_ms()).c_str(),
              when(job.finished_unix_ms()).c_str());
  if (job.kernel_keys_size() > 0) {
    std::string keys;
    for (const auto& k : job.kernel_keys()) keys += " " + k;
    std::printf("  kernel cache keys it needs:%s\n", keys.c_str());
  }
  if (job.started_unix_ms() && job.attempt() == 1)
    std::printf("  waited %.3f s in the queue\n",
                static_cast<double>(job.started_unix_ms() - job.submitted_unix_ms()) / 1000.0);
  if (job.finished_unix_ms()) std::printf("  exit code %d\n", job.exit_code());
  if (!job.error().empty()) std::printf("  error: %s\n", job.error().c_str());
  if (o.json.empty() && o.junit.empty()) return kExitOk;
  pb::GetJobArtifactsRequest areq;
  areq.set_id(job.id());
  pb::JobArtifacts art;
  auto actx = c->context();
  st = c->stub().GetJobArtifacts(actx.get(), areq, &art);
  if (!st.ok()) return call_failed(*c, st);
  for (const auto& [path, text] : {std::pair{o.json, art.json()}, std::pair{o.junit, art.junit_xml()}}) {
    if (path.empty()) continue;
    if (path == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else if (Status s = write_file(path, text); !s.ok()) {
      return report_error("job", s.error());
    }
  }
  return kExitOk;
}

// Every event as a line, the final one included; exits with the job's code.
int watch_job(const JobsOptions& o) {
  if (o.after < 0)
    return report_error(
        "watch", make_error(ErrorKind::kInput, "--after: want a sequence number, got " + std::to_string(o.after)));
  auto c = client::Connection::open(o.server.options());
  if (!c.ok()) return report_error("watch", c.error());
  auto ctx = c->context(0);
  pb::WatchJobRequest req;
  req.set_id(o.id);
  req.set_after_seq(o.after);
  auto reader = c->stub().WatchJob(ctx.get(), req);
  pb::JobEvent ev;
  int code = kExitOk;
  client::AttemptRuns runs;
  while (reader->Read(&ev)) {
    std::printf("%s\n", client::event_line(ev).c_str());
    std::fflush(stdout);
    runs.add(ev);
    if (ev.has_finished()) {
      code = ev.finished().job().exit_code();
      // Only the last attempt's runs are results (the report's).
      if (runs.earlier_runs > 0)
        std::printf("job %s: %d run(s) of attempt %d are its results; %d run(s) of earlier attempts were "
                    "interrupted and do not count\n",
                    o.id.c_str(), runs.last_runs, runs.last_attempt, runs.earlier_runs);
    }
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) return call_failed(*c, st);
  return code;
}

int cancel_job(const JobsOptions& o) {
  auto c = client::Connection::open(o.server.options());
  if (!c.ok()) return report_error("cancel", c.error());
  pb::CancelJobRequest req;
  req.set_id(o.id);
  pb::Job job;
  auto ctx = c->context();
  grpc::Status st = c->stub().CancelJob(ctx.get(), req, &job);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("job %s: %s\n", job.id().c_str(),
              job.state() == pb::RUNNING ? "cancelling (its run stops now)" : pb::JobState_Name(job.state()).c_str());
  return kExitOk;
}

// Streams one artifact (ReadArtifact) to a file or stdout ("-"). The file
// is written only once the whole artifact arrived.
int read_artifact(const JobsOptions& o) {
  auto c = client::Connection::open(o.server.options());
  if (!c.ok()) return report_error("artifact", c.error());
  pb::ReadArtifactRequest req;
  req.set_id(o.id);
  req.set_name(o.name);
  auto ctx = c->context(0);
  auto reader = c->stub().ReadArtifact(ctx.get(), req);
  pb::ArtifactChunk chunk;
  std::string text;
  while (reader->Read(&chunk)) {
    if (chunk.offset() != static_cast<int64_t>(text.size())) {
      ctx->TryCancel();
      (void)reader->Finish();
      return report_error("artifact", make_error(ErrorKind::kIo, "the server sent a chunk at offset " +
                                                                     std::to_string(chunk.offset()) + ", expected " +
                                                                     std::to_string(text.size())));
    }
    text += chunk.data();
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) return call_failed(*c, st);
  if (o.out.empty() || o.out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else if (Status s = write_file(o.out, text); !s.ok()) {
    return report_error("artifact", s.error());
  }
  return kExitOk;
}

int delete_job(const JobsOptions& o) {
  auto c = client::Connection::open(o.server.options());
  if (!c.ok()) return report_error("delete", c.error());
  pb::DeleteJobRequest req;
  req.set_id(o.id);
  pb::DeleteJobResponse resp;
  auto ctx = c->context();
  grpc::Status st = c->stub().DeleteJob(ctx.get(), req, &resp);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("job %s: deleted\n", o.id.c_str());
  return kExitOk;
}

}  // namespace

std::vector<Command> add_job_commands(CLI::App& root) {
  const std::string server_help = "racerigd to ask (default: $RACERIG_SERVER, else its default UNIX socket)";
  std::vector<Command> out;

  auto list = std::make_shared<JobsOptions>();
  CLI::App* jobs =
      root.add_subcommand("jobs", "list your jobs on racerigd (an admin's token: everyone's), newest first");
  jobs->add_option("--state", list->states,
                   "only jobs in this state (repeatable): QUEUED, RUNNING, SUCCEEDED, FAILED, "
                   "CANCELLED, INTERRUPTED")
      ->type_name("STATE")
      ->allow_extra_args(false);
  add_count_option(*jobs, "--page-size", list->page_size, "jobs per page");
  jobs->add_option("--page-token", list->page_token, "the next page (printed after a full page)")->type_name("TOKEN");
  add_server_options(*jobs, list->server, server_help);
  out.push_back(Command{jobs, [list] { return list_jobs(*list); }});

  auto show = std::make_shared<JobsOptions>();
  CLI::App* job = root.add_subcommand("job", "show one of racerigd's jobs, and fetch its report");
  job->add_option("id", show->id, "the job's id")->type_name("ID")->required();
  add_json_option(*job, show->json, "the finished job's report");
  job->add_option("--junit", show->junit, "write the finished validate job's JUnit XML to FILE")->type_name("FILE");
  add_server_options(*job, show->server, server_help);
  out.push_back(Command{job, [show] { return show_job(*show); }});

  auto watch = std::make_shared<JobsOptions>();
  CLI::App* w = root.add_subcommand("watch", "print a job's events as they happen, to its end (Ctrl-C: stop watching)");
  w->add_option("id", watch->id, "the job's id")->type_name("ID")->required();
  w->add_option("--after", watch->after, "start after this event sequence number (resume)")->type_name("SEQ");
  add_server_options(*w, watch->server, server_help);
  w->footer("Exit: the job's exit code once it finished (as the local command would exit).");
  out.push_back(Command{w, [watch] { return watch_job(*watch); }});

  auto cancel = std::make_shared<JobsOptions>();
  CLI::App* c = root.add_subcommand("cancel", "cancel a queued or running job (its build or QEMU stops)");
  c->add_option("id", cancel->id, "the job's id")->type_name("ID")->required();
  add_server_options(*c, cancel->server, server_help);
  out.push_back(Command{c, [cancel] { return cancel_job(*cancel); }});

  auto art = std::make_shared<JobsOptions>();
  CLI::App* a = root.add_subcommand("artifact", "fetch one artifact of a finished job (a run's console, kept logs)");
  a->add_option("id", art->id, "the job's id")->type_name("ID")->required();
  a->add_option("name", art->name,
                "report.json, junit.xml, runs/N/console, runs/N/console.log, runs/N/qemu.log, runs/N/agent.log "
                "(a wrong name lists the job's)")
      ->type_name("NAME")
      ->required();
  a->add_option("-o,--output", art->out, "write it to FILE (default, or -: stdout)")->type_name("FILE");
  add_server_options(*a, art->server, server_help);
  out.push_back(Command{a, [art] { return read_artifact(*art); }});

  auto del = std::make_shared<JobsOptions>();
  CLI::App* d = root.add_subcommand("delete", "delete an ended job: its record, events, files and kept logs");
  d->add_option("id", del->id, "the job's id (a queued or running one: cancel it first)")->type_name("ID")->required();
  add_server_options(*d, del->server, server_help);
  out.push_back(Command{d, [del] { return delete_job(*del); }});
  return out;
}

}  // namespace racerig::host
