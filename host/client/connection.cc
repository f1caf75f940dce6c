// The CLI's connection to racerigd (see connection.h).
#include "host/client/connection.h"

#include <unistd.h>

#include <cstdlib>

#include "host/client/keepalive.h"
#include "rig/base/file.h"

namespace racerig::client {

namespace {

const char* code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    default: return "ERROR";
  }
}

}  // namespace

Result<Connection> Connection::open(const ServerOptions& options) {
  Connection c;
  c.server_ = options.server;
  if (options.server.empty()) return make_error(ErrorKind::kInput, "--server: empty (want unix:PATH or HOST:PORT)");
  const bool local = options.server.rfind("unix:", 0) == 0 || options.server.rfind("unix-abstract:", 0) == 0;
  if (options.token_file && !local && !options.tls_ca && !options.insecure_plaintext)
    return make_error(ErrorKind::kInput, "--server " + options.server + " with --token-file and no --tls-ca: the token "
                                         "would cross the network in clear text; refusing (give --tls-ca FILE for a "
                                         "TLS server, or --insecure-plaintext on a network you trust)");
  if (options.token_file) {
    RACERIG_ASSIGN(std::string token, read_file(*options.token_file, "the token file"));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty() || token.find_first_of(" \t\n") != std::string::npos)
      return make_error(ErrorKind::kInput, "--token-file " + *options.token_file + ": want the token alone on one line");
    c.token_ = token;
  }
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (options.tls_ca) {
    RACERIG_ASSIGN(std::string roots, read_file(*options.tls_ca, "the CA file"));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = roots;
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  set_client_keepalive(args);
  c.channel_ = grpc::CreateCustomChannel(options.server, creds, args);
  c.stub_ = pb::RaceRig::NewStub(c.channel_);
  return c;
}

std::unique_ptr<grpc::ClientContext> Connection::context(double deadline_s) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  if (deadline_s > 0)
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(deadline_s * 1000)));
  return ctx;
}

std::string default_socket_path() {
  if (::geteuid() == 0) return "/run/racerigd/racerigd.sock";
  if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run && *run) return std::string(run) + "/racerigd.sock";
  return "/tmp/racerigd-" + std::to_string(::geteuid()) + ".sock";
}

std::string default_server() {
  if (const char* env = std::getenv("RACERIG_SERVER"); env && *env) return env;
  return "unix:" + default_socket_path();
}

std::string status_text(const std::string& server, const grpc::Status& status) {
  return "server " + server + ": " + code_name(status.error_code()) + ": " + status.error_message();
}

int exit_code_of(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED: return 2;
    default: return 3;
  }
}

}  // namespace racerig::client
