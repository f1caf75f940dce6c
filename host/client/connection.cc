// The CLI's connection to racerigd (see connection.h).
#include "host/client/connection.h"

#include <unistd.h>

#include <cstdlib>

#include "host/client/keepalive.h"
#include "host/client/socket_path.h"
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
  if (options.server.empty()) {
    RACERIG_ASSIGN(c.server_, default_server());
  } else {
    c.server_ = options.server;
  }
  const std::string& server = c.server_;
  const bool local = server.rfind("unix:", 0) == 0 || server.rfind("unix-abstract:", 0) == 0;
  if (server.rfind("unix:", 0) == 0) RACERIG_TRY(check_socket_dir(server.substr(5), ::geteuid()));
  if (options.token_file && !local && !options.tls_ca && !options.insecure_plaintext)
    return make_error(ErrorKind::kInput, "--server " + server + " with --token-file and no --tls-ca: the token "
                                         "would cross the network in clear text; refusing (give --tls-ca FILE for a "
                                         "TLS server, or --insecure-plaintext on a network you trust)");
  if (options.token_file) {
    RACERIG_ASSIGN(std::string token, read_file(*options.token_file, "the token file"));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty() || token.find_first_of(" \t\n") != std::string::npos)
      return make_error(ErrorKind::kInput, "--token-file " + *options.token_file + ": want the token alone on one line");
    c.token_ = token;
  }
  if (options.tls_cert.has_value() != options.tls_key.has_value())
    return make_error(ErrorKind::kInput, "--tls-cert and --tls-key go together (a client certificate and its key)");
  if (options.tls_cert && !options.tls_ca)
    return make_error(ErrorKind::kInput, "--tls-cert " + *options.tls_cert +
                                             " without --tls-ca: a client certificate is sent over TLS only (give "
                                             "--tls-ca FILE, the roots that the server's certificate chains to)");
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (options.tls_ca) {
    grpc::SslCredentialsOptions ssl;
    RACERIG_ASSIGN(ssl.pem_root_certs, read_file(*options.tls_ca, "the CA file"));
    if (options.tls_cert) {
      RACERIG_ASSIGN(ssl.pem_cert_chain, read_file(*options.tls_cert, "the client certificate"));
      RACERIG_ASSIGN(ssl.pem_private_key, read_file(*options.tls_key, "the client key"));
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  set_client_keepalive(args);
  c.channel_ = grpc::CreateCustomChannel(server, creds, args);
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

Result<std::string> default_server() {
  if (const char* env = std::getenv("RACERIG_SERVER"); env && *env) return std::string(env);
  RACERIG_ASSIGN(std::string socket, default_socket_path());
  return "unix:" + socket;
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
