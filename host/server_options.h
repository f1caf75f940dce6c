// The options every racerigd client command shares (--server, --token-file,
// --tls-ca, --tls-cert, --tls-key, --insecure-plaintext) and their conversion to client::ServerOptions.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "host/client/connection.h"

namespace racerig::host {

struct ServerArgs {
  std::string server, token_file, tls_ca, tls_cert, tls_key;
  bool insecure_plaintext = false;
  // client::ServerOptions; an empty --server means client::default_server()
  // (resolved by Connection::open).
  client::ServerOptions options() const {
    client::ServerOptions o;
    o.server = server;
    if (!token_file.empty()) o.token_file = token_file;
    if (!tls_ca.empty()) o.tls_ca = tls_ca;
    if (!tls_cert.empty()) o.tls_cert = tls_cert;
    if (!tls_key.empty()) o.tls_key = tls_key;
    o.insecure_plaintext = insecure_plaintext;
    return o;
  }
};

// Adds --server, --token-file, --tls-ca, --tls-cert, --tls-key and
// --insecure-plaintext to `app`. `what` says what
// --server does for this command.
inline void add_server_options(CLI::App& app, ServerArgs& target, const std::string& what) {
  app.add_option("--server", target.server, what)->type_name("unix:PATH|HOST:PORT");
  app.add_option("--token-file", target.token_file, "a file holding racerigd's bearer token alone")->type_name("FILE");
  app.add_option("--tls-ca", target.tls_ca, "PEM roots to check a TLS server with (connects with TLS)")->type_name("FILE");
  app.add_option("--tls-cert", target.tls_cert,
                 "a client certificate (PEM) for a mutual-TLS server: its subject CN is who you are (with --tls-key "
                 "and --tls-ca)")
      ->type_name("FILE");
  app.add_option("--tls-key", target.tls_key, "the private key (PEM) of --tls-cert")->type_name("FILE");
  app.add_flag("--insecure-plaintext", target.insecure_plaintext,
               "send --token-file's token to a HOST:PORT server without TLS (a trusted network only)");
}

}  // namespace racerig::host
