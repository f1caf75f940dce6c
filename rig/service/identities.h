// Client certificate identities: the --client-identities file, which names
// the subject CNs of client certificates (issued by --tls-client-ca) that
// may call racerigd, and which of them are admins.
//
// One "NAME" or "NAME admin" per line; '#' starts a comment, blank lines are
// skipped. NAME is the certificate's subject CN, and what the caller's jobs
// record as their submitter (the same name as a token's, if the tokens file
// has it too: one submitter, two ways in).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "rig/base/result.h"
#include "rig/service/caller.h"

namespace racerig::service {

class ClientIdentities {
 public:
  // Parses the file's text; errors name file:line and what was wrong (a
  // second word other than "admin", more than two words, a duplicate name,
  // a name with a character outside [A-Za-z0-9._@-]), or that it has no names.
  static Result<ClientIdentities> parse(std::string_view text, const std::string& file_name);
  // Reads and parses the file after checking that nobody but root or our
  // user can change it (it need not be secret: it holds no keys). kInput
  // naming the file, why it is refused and the fix.
  static Result<ClientIdentities> load(const std::filesystem::path& path);

  // The caller a verified certificate with subject CN `cn` is; nullopt for
  // a CN the file does not list.
  std::optional<Caller> caller_of(std::string_view cn) const;
  size_t size() const { return by_name_.size(); }
  // How many names are marked admin.
  size_t admins() const;
  // The file the identities came from (for messages).
  const std::string& file_name() const { return file_name_; }

 private:
  std::map<std::string, Caller, std::less<>> by_name_;
  std::string file_name_;
};

}  // namespace racerig::service
