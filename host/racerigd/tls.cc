// racerigd's TLS credentials (see tls.h).
#include "host/racerigd/tls.h"

#include "rig/base/file.h"

namespace racerig::racerigd {

namespace {

// The PEM text of `path`, named as `option` in errors.
Result<std::string> read_pem(const std::string& path, const std::string& option) {
  auto text = read_file(path, option, size_t{1} << 20);
  if (!text.ok()) return make_error(ErrorKind::kInput, text.error().message);
  if (text->find("-----BEGIN ") == std::string::npos)
    return make_error(ErrorKind::kInput, option + " " + path + ": no PEM block (-----BEGIN ...) in it");
  return text;
}

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> tls_server_credentials(const TlsFiles& files) {
  RACERIG_ASSIGN(std::string cert, read_pem(files.cert, "--tls-cert"));
  RACERIG_ASSIGN(std::string key, read_pem(files.key, "--tls-key"));
  grpc::SslServerCredentialsOptions ssl(files.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                                : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!files.client_ca.empty()) {
    RACERIG_ASSIGN(ssl.pem_root_certs, read_pem(files.client_ca, "--tls-client-ca"));
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace racerig::racerigd
