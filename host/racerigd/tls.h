// racerigd's TLS server credentials for --listen: its certificate and key,
// and with --tls-client-ca the CA whose client certificates it verifies
// (gRPC's own SSL credentials; no TLS of ours).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "rig/base/result.h"

namespace racerig::racerigd {

struct TlsFiles {
  std::string cert, key;  // PEM: the server's certificate (chain) and private key
  std::string client_ca;  // PEM roots for client certificates; empty: none asked for
};

// SSL server credentials from the files. With a client CA the server asks
// every client for a certificate and verifies one that is sent against that
// CA (a client whose certificate does not verify fails the handshake); a
// client without one still connects, and authentication decides on its
// token (rig/service/authenticator.h). kInput naming the file that cannot
// be read or holds no PEM block.
Result<std::shared_ptr<grpc::ServerCredentials>> tls_server_credentials(const TlsFiles& files);

}  // namespace racerig::racerigd
