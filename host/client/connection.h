// The CLI's connection to racerigd: --server unix:PATH|HOST:PORT, an
// optional --token-file (the token alone) sent as "authorization: Bearer",
// --tls-ca for a TLS server, and --tls-cert/--tls-key for a client
// certificate (mutual TLS: the certificate is who we are, instead of or
// beside a token). A token goes over TCP only with TLS, unless
// --insecure-plaintext says otherwise.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "proto/racerig_service.grpc.pb.h"
#include "rig/base/result.h"

namespace racerig::client {

struct ServerOptions {
  std::string server;                    // unix:PATH or HOST:PORT; empty: default_server()
  std::optional<std::string> token_file; // holds the token alone
  std::optional<std::string> tls_ca;     // PEM roots: connect with TLS
  std::optional<std::string> tls_cert;   // PEM client certificate (chain), with tls_key and tls_ca
  std::optional<std::string> tls_key;    // PEM private key of tls_cert
  bool insecure_plaintext = false;       // send the token over TCP without TLS
};

class Connection {
 public:
  // Reads the token and makes the channel (it connects lazily). A unix:PATH
  // server must pass check_socket_dir (socket_path.h). Errors name
  // the file that could not be read or an empty token; kInput when a token
  // would go to a TCP server without TLS (no tls_ca) and insecure_plaintext
  // is not set (a UNIX socket needs neither), and when tls_cert and tls_key
  // are not given together or come without tls_ca.
  static Result<Connection> open(const ServerOptions& options);

  pb::RaceRig::Stub& stub() { return *stub_; }
  // A context carrying the token, with `deadline_s` seconds (0: none).
  std::unique_ptr<grpc::ClientContext> context(double deadline_s = 30) const;
  const std::string& server() const { return server_; }

 private:
  std::string server_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::RaceRig::Stub> stub_;
};

// $RACERIG_SERVER, else unix:<default_socket_path()> (socket_path.h); kInput
// when there is no safe default (pass --server).
Result<std::string> default_server();

// "racerig: server unix:/x: UNAVAILABLE: ..." style text of a failed call.
std::string status_text(const std::string& server, const grpc::Status& status);
// The CLI exit code of a failed call: 2 for a request the server refused
// as bad or unauthenticated, 3 otherwise.
int exit_code_of(const grpc::Status& status);

}  // namespace racerig::client
