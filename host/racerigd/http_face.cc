// racerigd's web pages (see http_face.h).
#include "host/racerigd/http_face.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "rig/report/html.h"
#include "rig/report/job_pages.h"
#include "rig/service/artifacts.h"

namespace racerig::racerigd {

namespace {

// The most jobs the list reads (ListJobs pages of 500) before filtering.
constexpr int kMaxListed = 2000;
constexpr char kCookie[] = "racerig_token";
// Nothing may be fetched: the pages carry their style and script inline.
constexpr char kPolicy[] =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

int http_status(service::Code code) {
  switch (code) {
    case service::Code::kInvalidArgument:
      return 400;
    case service::Code::kUnauthenticated:
      return 401;
    case service::Code::kPermissionDenied:
      return 403;
    case service::Code::kNotFound:
      return 404;
    case service::Code::kFailedPrecondition:
      return 409;
    case service::Code::kResourceExhausted:
    case service::Code::kUnavailable:
      return 503;
    case service::Code::kInternal:
      break;
  }
  return 500;
}

void page(httplib::Response& res, const std::string& html) {
  res.set_header("Content-Security-Policy", kPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html; charset=utf-8");
}

void error_page(httplib::Response& res, const service::ServiceError& e) {
  res.status = http_status(e.code);
  if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"racerigd\"");
  page(res, report::page_begin("racerigd: " + std::to_string(res.status)) + "<h1>" + std::to_string(res.status) +
                "</h1>\n<p class=\"err\">" + report::html_escape(e.message) + "</p>\n" +
                (res.status == 401 ? "<p>Open a page with <code>?token=TOKEN</code> once (it sets a cookie), or send "
                                     "<code>Authorization: Bearer TOKEN</code>.</p>\n"
                                   : "") +
                report::page_end());
}

// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string> cookie(const std::string& header, const std::string& name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(at, end - at);
    const size_t first = part.find_first_not_of(' ');
    part = first == std::string::npos ? "" : part.substr(first);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    at = end + 1;
  }
  return std::nullopt;
}

// The subject CN of the verified client certificate of a TLS request, or nullopt.
std::optional<std::string> certificate_cn(const httplib::Request& req) {
  if (req.ssl == nullptr) return std::nullopt;
  X509* cert = SSL_get_peer_certificate(req.ssl);
  if (cert == nullptr) return std::nullopt;
  std::optional<std::string> out;
  if (SSL_get_verify_result(req.ssl) == X509_V_OK) {
    char cn[256] = {0};
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    out = n > 0 ? std::string(cn, static_cast<size_t>(n)) : std::string();
  }
  X509_free(cert);
  return out;
}

// The job's report in full (consoles included) from ReadArtifact's
// report.json, in a copy of `job`; nullopt when it has none (yet).
std::optional<pb::Job> full_job(service::JobService& core, const pb::Job& job, const service::Caller& who) {
  auto json = core.read_artifact(job.id(), who, "report.json");
  if (!json.ok()) return std::nullopt;
  pb::Job full = job;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  google::protobuf::Message* report = nullptr;
  switch (job.kind()) {
    case pb::REPRODUCE:
      report = full.mutable_reproduce_report();
      break;
    case pb::STRESS:
      report = full.mutable_stress_report();
      break;
    case pb::VALIDATE:
      report = full.mutable_validate_report();
      break;
    case pb::EXPLORE:
      report = full.mutable_explore_report();
      break;
    default:
      return std::nullopt;
  }
  if (!google::protobuf::util::JsonStringToMessage(*json, report, opts).ok()) return std::nullopt;
  full.set_report_omitted(false);
  return full;
}

// The kernel variants a job's report names: the control's and the patched one's.
std::pair<std::string, std::string> variants_of(const pb::Job& job) {
  if (job.has_reproduce_report()) return {job.reproduce_report().kernel_variant(), {}};
  if (job.has_stress_report()) return {job.stress_report().kernel_variant(), {}};
  if (job.has_explore_report()) return {job.explore_report().kernel_variant(), {}};
  if (job.has_validate_report()) return {job.validate_report().base_variant(), job.validate_report().patched_variant()};
  if (job.has_reproduce()) return {job.reproduce().kernel(), {}};
  if (job.has_explore()) return {job.explore().kernel(), {}};
  if (job.has_validate()) return {job.validate().base().empty() ? "buggy" : job.validate().base(), {}};
  return {};
}

}  // namespace

HttpFace::HttpFace(service::JobService& core, service::Authenticator auth,
                   std::function<report::SourceTree(const std::string& variant)> sources)
    : core_(core), auth_(auth), sources_(std::move(sources)) {}

HttpFace::~HttpFace() { stop(); }

Result<int> HttpFace::start(const std::string& addr, const HttpTls& tls) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size())
    return make_error(ErrorKind::kInput, "--http " + addr + ": want HOST:PORT");
  std::string host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  for (char c : addr.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      return make_error(ErrorKind::kInput, "--http " + addr + ": the port is not a number from 0 to 65535");
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return make_error(ErrorKind::kInput, "--http " + addr + ": the port is past 65535");
  if (!tls.cert.empty()) {
    std::string why;
    auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
      if (SSL_CTX_use_certificate_chain_file(&ctx, tls.cert.c_str()) != 1) {
        why = "the TLS certificate " + tls.cert + " does not load";
        return false;
      }
      if (SSL_CTX_use_PrivateKey_file(&ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(&ctx) != 1) {
        why = "the TLS key " + tls.key + " does not load or does not match " + tls.cert;
        return false;
      }
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (!tls.client_ca.empty()) {
        // Asked for and verified when sent; a browser without one still
        // comes in and authentication decides on its token (as gRPC's).
        if (SSL_CTX_load_verify_locations(&ctx, tls.client_ca.c_str(), nullptr) != 1) {
          why = "the client CA " + tls.client_ca + " does not load";
          return false;
        }
        SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(tls.client_ca.c_str()));
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
      }
      return true;
    });
    if (!server->is_valid()) return make_error(ErrorKind::kInput, "--http " + addr + ": " + why);
    server_ = std::move(server);
    tls_ = true;
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  server_->set_read_timeout(std::chrono::seconds(10));
  server_->set_write_timeout(std::chrono::seconds(30));
  server_->set_payload_max_length(size_t{64} << 10);  // GET only: nothing large comes in
  routes();
  int bound = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return make_error(ErrorKind::kIo, "--http " + addr + ": cannot bind");
  // The socket listens from here on: a request made before the thread
  // accepts waits in the backlog.
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() only stops a server that runs: wait (5 s at most) until it does.
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return bound;
}

void HttpFace::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpFace::routes() {
  // Who calls, or the error page sent.
  auto who = [this](const httplib::Request& req, httplib::Response& res) -> std::optional<service::Caller> {
    service::Presented call;
    call.unix_socket = false;
    if (tls_) call.certificate_cn = certificate_cn(req);
    if (req.has_header("Authorization")) {
      call.authorization = req.get_header_value("Authorization");
    } else if (auto c = cookie(req.get_header_value("Cookie"), kCookie); c && !c->empty()) {
      call.authorization = "Bearer " + *c;
    }
    auto caller = auth_.authenticate(call);
    if (!caller.ok()) {
      error_page(res, caller.error());
      return std::nullopt;
    }
    return *caller;
  };
  // ?token=: set the cookie and come back without it in the address.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_content("only GET\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!req.has_param("token")) return httplib::Server::HandlerResponse::Unhandled;
    std::string query;
    for (const auto& [k, v] : req.params)
      if (k != "token") query += (query.empty() ? "?" : "&") + report::url_encode(k) + "=" + report::url_encode(v);
    res.set_header("Set-Cookie", std::string(kCookie) + "=" + report::url_encode(req.get_param_value("token")) +
                                     "; Path=/; HttpOnly; SameSite=Strict" + (tls_ ? "; Secure" : ""));
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_redirect(req.path + query, 303);
    return httplib::Server::HandlerResponse::Handled;
  });

  server_->Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/jobs", 303); });

  server_->Get("/jobs", [this, who](const httplib::Request& req, httplib::Response& res) {
    auto caller = who(req, res);
    if (!caller) return;
    report::JobFilter filter{req.get_param_value("state"), req.get_param_value("kind"),
                             req.get_param_value("submitter")};
    pb::ListJobsRequest list;
    list.set_page_size(500);
    pb::JobState state;
    if (!filter.state.empty() && pb::JobState_Parse(filter.state, &state)) list.add_states(state);
    std::vector<pb::Job> jobs;
    std::string note;
    for (;;) {
      auto page_of = core_.list(list, *caller);
      if (!page_of.ok()) return error_page(res, page_of.error());
      for (const pb::Job& j : page_of->jobs()) jobs.push_back(j);
      if (page_of->next_page_token().empty()) break;
      if (static_cast<int>(jobs.size()) >= kMaxListed) {
        note = "the newest " + std::to_string(jobs.size()) + " jobs are listed (racerig jobs lists all)";
        break;
      }
      list.set_page_token(page_of->next_page_token());
    }
    page(res, report::job_list_page(jobs, filter, caller->name + (caller->admin ? " (admin)" : ""), note));
  });

  server_->Get(R"(/jobs/([^/]+))", [this, who](const httplib::Request& req, httplib::Response& res) {
    auto caller = who(req, res);
    if (!caller) return;
    const std::string id = req.matches[1];
    auto job = core_.get(id, *caller);
    if (!job.ok()) return error_page(res, job.error());
    std::optional<pb::Job> full;
    if (job->state() != pb::QUEUED && job->state() != pb::RUNNING) full = full_job(core_, *job, *caller);
    // The events so far: WatchJob's, read until none are left.
    std::vector<pb::JobEvent> events;
    size_t batch = 0;
    bool first = true;
    auto watched = core_.watch(
        id, *caller, 0,
        [&](const pb::JobEvent& e) {
          events.push_back(e);
          ++batch;
          return true;
        },
        [&] {
          if (first) {
            first = false;
            return false;
          }
          const bool done = batch < 100;  // the store's batch: fewer means none are left
          batch = 0;
          return done;
        });
    if (!watched.ok()) return error_page(res, watched.error());
    const pb::Job& shown = full ? *full : *job;
    const auto [control_variant, patched_variant] = variants_of(shown);
    report::SourceTree control = sources_ ? sources_(control_variant) : report::SourceTree{};
    report::SourceTree patched = control;
    if (!control.root.empty())
      patched.note =
          "source from the base kernel's tree (a candidate's own tree is deleted after its build): lines "
          "the patches touch differ";
    page(res,
         report::job_page(*job, full ? &*full : nullptr, events, service::artifact_names(shown), control, patched));
  });

  server_->Get(R"(/jobs/([^/]+)/artifacts/(.+))", [this, who](const httplib::Request& req, httplib::Response& res) {
    auto caller = who(req, res);
    if (!caller) return;
    const std::string id = req.matches[1], name = req.matches[2];
    auto content = core_.read_artifact(id, *caller, name);
    if (!content.ok()) return error_page(res, content.error());
    std::string file = name;
    for (char& c : file)
      if (c == '/' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
    res.set_header("Content-Disposition", "attachment; filename=\"" + id + "-" + file + "\"");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
    res.set_content(*content, "application/octet-stream");
  });
}

}  // namespace racerig::racerigd
