// Who a call is (see authenticator.h).
#include "rig/service/authenticator.h"

namespace racerig::service {

Result<Authenticator> Authenticator::make(const TokenTable* tokens, const ClientIdentities* identities) {
  if (tokens != nullptr && identities != nullptr)
    for (const Caller& token_caller : tokens->callers())
      if (auto cert_caller = identities->caller_of(token_caller.name);
          cert_caller && cert_caller->admin != token_caller.admin)
        return make_error(ErrorKind::kInput, "\"" + token_caller.name + "\" is " +
                                                 (token_caller.admin ? "an admin" : "not an admin") +
                                                 " in the tokens file but " +
                                                 (cert_caller->admin ? "an admin" : "not an admin") + " in " +
                                                 identities->file_name() + "; make them agree");
  Authenticator a(tokens);
  a.identities_ = identities;
  return a;
}

ServiceResult<Caller> Authenticator::authenticate(const Presented& call) const {
  std::optional<Caller> by_token;
  if (call.authorization && tokens_ != nullptr) {
    by_token = tokens_->authenticate(*call.authorization);
    if (!by_token) return service_error(Code::kUnauthenticated, "the bearer token is not one of the server's");
  }
  if (call.certificate_cn && identities_ != nullptr) {
    const std::string& cn = *call.certificate_cn;
    if (cn.empty())
      return service_error(Code::kUnauthenticated,
                           "the client certificate has no subject CN, which racerigd takes as the caller's name");
    auto who = identities_->caller_of(cn);
    if (!who)
      return service_error(Code::kPermissionDenied, "the client certificate's subject CN \"" + cn +
                                                        "\" is not listed in racerigd's --client-identities file");
    if (by_token && by_token->name != who->name)
      return service_error(Code::kUnauthenticated, "the client certificate is \"" + who->name +
                                                       "\" but the bearer token is another name's");
    return *who;
  }
  if (by_token) return *by_token;
  if (tokens_ == nullptr && (identities_ == nullptr || call.unix_socket)) return Caller{"local", true};
  if (tokens_ == nullptr)
    return service_error(Code::kUnauthenticated,
                         "no client certificate: this listener takes callers by certificate (racerig --tls-cert FILE "
                         "--tls-key FILE, issued by the server's --tls-client-ca)");
  if (identities_ == nullptr || call.unix_socket)
    return service_error(Code::kUnauthenticated,
                         "no \"authorization: Bearer TOKEN\" metadata (racerig --token-file FILE)");
  return service_error(Code::kUnauthenticated,
                       "no client certificate and no \"authorization: Bearer TOKEN\" metadata (racerig --tls-cert "
                       "FILE --tls-key FILE, or --token-file FILE)");
}

}  // namespace racerig::service
