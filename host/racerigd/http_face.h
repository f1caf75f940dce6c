// racerigd's web pages (--http ADDR): the job list, each job's page (live
// while it runs) and its artifacts, over cpp-httplib, under the same
// authentication as the gRPC API. A thin adapter like service_adapter.h:
// every page reads what the RPCs return, through the same JobService
// calls (list, get, watch, read_artifact, artifact names), and renders it
// with rig/report. No second source of truth.
//
// Who calls: a bearer token (the Authorization header, or the cookie a
// visit to any page with ?token=TOKEN sets, HttpOnly and SameSite=Strict,
// before redirecting to the page without it), or over TLS with
// --tls-client-ca a verified client certificate's CN. The rules are
// service::Authenticator's, for a TCP caller: no token, 401; a job of
// another submitter, 404 like a job that does not exist; an admin sees
// every job.
//
// Routes: GET / (to /jobs), /jobs?state=&kind=&submitter=, /jobs/ID,
// /jobs/ID/artifacts/NAME (a download, never rendered by the browser).
// Pages carry a Content-Security-Policy that allows nothing to be fetched.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "rig/base/result.h"
#include "rig/report/source.h"
#include "rig/service/authenticator.h"
#include "rig/service/job_service.h"

namespace httplib {
class Server;
}

namespace racerig::racerigd {

// TLS for the pages: the server's certificate and key (PEM files) and,
// optionally, the CA whose client certificates it verifies. Empty cert:
// plain HTTP.
struct HttpTls {
  std::string cert, key, client_ca;
};

class HttpFace {
 public:
  // `sources` says where a kernel variant's source is read (its note is
  // shown when there is none). The core and `auth` must outlive this.
  HttpFace(service::JobService& core, service::Authenticator auth,
           std::function<report::SourceTree(const std::string& variant)> sources);
  ~HttpFace();
  HttpFace(const HttpFace&) = delete;
  HttpFace& operator=(const HttpFace&) = delete;

  // Binds `addr` ("HOST:PORT"; port 0 picks a free one) and serves on a
  // thread of its own; the port bound. kInput for a malformed address or
  // TLS files that do not load (naming them), kIo when it cannot bind.
  Result<int> start(const std::string& addr, const HttpTls& tls);
  // Stops serving and joins the thread (requests under way finish). Idempotent.
  void stop();

 private:
  void routes();

  service::JobService& core_;
  service::Authenticator auth_;
  std::function<report::SourceTree(const std::string&)> sources_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  bool tls_ = false;
};

}  // namespace racerig::racerigd
