// racerig jobs | job ID | watch ID | cancel ID: the daemon's jobs from the
// command line.
#include <cstdio>
#include <ctime>

#include "host/cli_util.h"
#include "host/client/connection.h"
#include "host/client/follow.h"
#include "host/commands.h"
#include "rig/qemu/cancel.h"

namespace racerig::host {

namespace {

const std::set<std::string> kServerOptions = {"server", "token-file", "tls-ca"};

std::set<std::string> with(std::set<std::string> extra) {
  extra.insert(kServerOptions.begin(), kServerOptions.end());
  return extra;
}

Result<client::Connection> connect(const ParsedArgs& args) {
  client::ServerOptions o;
  o.server = args.get("server").value_or(client::default_server());
  o.token_file = args.get("token-file");
  o.tls_ca = args.get("tls-ca");
  return client::Connection::open(o);
}

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

std::string what(const pb::Job& j) {
  if (j.has_reproduce()) {
    const auto& r = j.reproduce();
    return "reproduce " + (r.scenario().has_name() ? r.scenario().name() : std::string("(inline)")) + " on " + r.kernel();
  }
  std::string s = "validate";
  for (const auto& p : j.validate().patches()) s += " " + p.name();
  return s + " on " + (j.validate().base().empty() ? std::string("buggy") : j.validate().base());
}

const char* kServerUsage = "  [--server unix:PATH|HOST:PORT] [--token-file FILE] [--tls-ca FILE]\n";

}  // namespace

int cmd_jobs(const Args& raw) {
  auto parsed = parse_args(raw, with({"state", "page-size", "page-token"}), {"help"});
  if (!parsed.ok()) return report_error("jobs", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || !args.positional.empty()) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig jobs [--state QUEUED|RUNNING|SUCCEEDED|FAILED|CANCELLED|INTERRUPTED ...]\n"
                 "                    [--page-size N] [--page-token T]\n%s",
                 kServerUsage);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto c = connect(args);
  if (!c.ok()) return report_error("jobs", c.error());
  pb::ListJobsRequest req;
  for (const auto& s : args.all("state")) {
    pb::JobState state;
    if (!pb::JobState_Parse(s, &state))
      return report_error("jobs", make_error(ErrorKind::kInput, "--state: unknown state \"" + s + "\""));
    req.add_states(state);
  }
  auto size = args.positive_int("page-size", 50);
  if (!size.ok()) return report_error("jobs", size.error());
  req.set_page_size(*size);
  req.set_page_token(args.get("page-token").value_or(""));
  pb::ListJobsResponse resp;
  auto ctx = c->context();
  grpc::Status st = c->stub().ListJobs(ctx.get(), req, &resp);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("%-6s %-11s %-4s %-19s %-12s %s\n", "id", "state", "exit", "submitted (UTC)", "submitter", "what");
  for (const auto& j : resp.jobs())
    std::printf("%-6s %-11s %-4s %-19s %-12s %s\n", j.id().c_str(), pb::JobState_Name(j.state()).c_str(),
                j.finished_unix_ms() ? std::to_string(j.exit_code()).c_str() : "-", when(j.submitted_unix_ms()).c_str(),
                j.submitter().c_str(), what(j).c_str());
  if (!resp.next_page_token().empty()) std::printf("more: racerig jobs --page-token %s\n", resp.next_page_token().c_str());
  return kExitOk;
}

int cmd_job(const Args& raw) {
  auto parsed = parse_args(raw, with({"json", "junit"}), {"help"});
  if (!parsed.ok()) return report_error("job", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || args.positional.size() != 1) {
    std::fprintf(args.has("help") ? stdout : stderr, "usage: racerig job ID [--json FILE] [--junit FILE]\n%s",
                 kServerUsage);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto c = connect(args);
  if (!c.ok()) return report_error("job", c.error());
  pb::GetJobRequest req;
  req.set_id(args.positional[0]);
  pb::Job job;
  auto ctx = c->context();
  grpc::Status st = c->stub().GetJob(ctx.get(), req, &job);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("job %s: %s\n  state %s, attempt %d, submitter %s\n  submitted %s, started %s, finished %s\n",
              job.id().c_str(), what(job).c_str(), pb::JobState_Name(job.state()).c_str(), job.attempt(),
              job.submitter().c_str(), when(job.submitted_unix_ms()).c_str(), when(job.started_unix_ms()).c_str(),
              when(job.finished_unix_ms()).c_str());
  if (job.finished_unix_ms()) std::printf("  exit code %d\n", job.exit_code());
  if (!job.error().empty()) std::printf("  error: %s\n", job.error().c_str());
  if (args.get("json") || args.get("junit")) {
    pb::GetJobArtifactsRequest areq;
    areq.set_id(job.id());
    pb::JobArtifacts art;
    auto actx = c->context();
    st = c->stub().GetJobArtifacts(actx.get(), areq, &art);
    if (!st.ok()) return call_failed(*c, st);
    for (const auto& [opt, text] : {std::pair{"json", art.json()}, std::pair{"junit", art.junit_xml()}}) {
      auto path = args.get(opt);
      if (!path) continue;
      FILE* f = *path == "-" ? stdout : std::fopen(path->c_str(), "w");
      if (!f) return report_error("job", errno_error("writing " + *path));
      std::fwrite(text.data(), 1, text.size(), f);
      if (f != stdout) std::fclose(f);
    }
  }
  return kExitOk;
}

int cmd_watch(const Args& raw) {
  auto parsed = parse_args(raw, with({"after"}), {"help"});
  if (!parsed.ok()) return report_error("watch", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || args.positional.size() != 1) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig watch ID [--after SEQ]   (Ctrl-C stops watching; the job goes on)\n%s", kServerUsage);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  int64_t after = 0;
  if (auto a = args.get("after")) {
    char* end = nullptr;
    after = std::strtoll(a->c_str(), &end, 10);
    if (a->empty() || *end != '\0' || after < 0)
      return report_error("watch", make_error(ErrorKind::kInput, "--after: want a sequence number, got \"" + *a + "\""));
  }
  auto c = connect(args);
  if (!c.ok()) return report_error("watch", c.error());
  // Every event as a line, the final one included.
  auto ctx = c->context(0);
  pb::WatchJobRequest req;
  req.set_id(args.positional[0]);
  req.set_after_seq(after);
  auto reader = c->stub().WatchJob(ctx.get(), req);
  pb::JobEvent ev;
  int code = kExitOk;
  while (reader->Read(&ev)) {
    std::printf("%s\n", client::event_line(ev).c_str());
    std::fflush(stdout);
    if (ev.has_finished()) code = ev.finished().job().exit_code();
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) return call_failed(*c, st);
  return code;
}

int cmd_cancel(const Args& raw) {
  auto parsed = parse_args(raw, with({}), {"help"});
  if (!parsed.ok()) return report_error("cancel", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || args.positional.size() != 1) {
    std::fprintf(args.has("help") ? stdout : stderr, "usage: racerig cancel ID\n%s", kServerUsage);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto c = connect(args);
  if (!c.ok()) return report_error("cancel", c.error());
  pb::CancelJobRequest req;
  req.set_id(args.positional[0]);
  pb::Job job;
  auto ctx = c->context();
  grpc::Status st = c->stub().CancelJob(ctx.get(), req, &job);
  if (!st.ok()) return call_failed(*c, st);
  std::printf("job %s: %s\n", job.id().c_str(),
              job.state() == pb::RUNNING ? "cancelling (its run stops now)" : pb::JobState_Name(job.state()).c_str());
  return kExitOk;
}

}  // namespace racerig::host
