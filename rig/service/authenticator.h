// Who a call is, from what it presents: a client certificate that the TLS
// layer verified against --tls-client-ca (its subject CN, looked up in the
// --client-identities file), or a bearer token (looked up in --tokens), or,
// when racerigd has neither, nothing at all (every caller is "local").
// Independent of gRPC: the adapter fills Presented from the call.
//
// The rules, in order:
// - A verified certificate decides: its CN must be listed (else
//   PERMISSION_DENIED naming the CN); a token sent as well must be that
//   same name's (else UNAUTHENTICATED).
// - Without a certificate, a token (when --tokens is given) decides.
// - Without either: UNAUTHENTICATED saying what to present, except when
//   racerigd has no tokens and the call came over the UNIX socket: then,
//   as without any authentication, the caller is "local", an admin (the
//   socket's mode and group say who may connect).
#pragma once

#include <optional>
#include <string>

#include "rig/base/result.h"
#include "rig/service/auth.h"
#include "rig/service/caller.h"
#include "rig/service/identities.h"
#include "rig/service/status.h"

namespace racerig::service {

// What one call presents.
struct Presented {
  // The subject CN of a client certificate the TLS layer verified (empty
  // string: a verified certificate without a CN); nullopt: no certificate.
  std::optional<std::string> certificate_cn;
  // The "authorization" metadata ("Bearer TOKEN"); nullopt: none sent.
  std::optional<std::string> authorization;
  // The call came over racerigd's UNIX socket (not TCP).
  bool unix_socket = false;
};

class Authenticator {
 public:
  // Tokens only (or none: `tokens` null, every caller "local").
  explicit Authenticator(const TokenTable* tokens) : tokens_(tokens) {}
  // Tokens and/or certificate identities (either may be null; both are
  // kept by pointer and must outlive this). kInput when a name is in both
  // files but an admin in one only.
  static Result<Authenticator> make(const TokenTable* tokens, const ClientIdentities* identities);

  // The caller, or UNAUTHENTICATED / PERMISSION_DENIED saying why (see the
  // rules above).
  ServiceResult<Caller> authenticate(const Presented& call) const;

 private:
  const TokenTable* tokens_ = nullptr;
  const ClientIdentities* identities_ = nullptr;
};

}  // namespace racerig::service
