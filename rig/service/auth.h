// Bearer tokens: the --tokens file and the lookup of a request's token.
//
// The file has one "NAME TOKEN" or "NAME TOKEN admin" line per caller; '#'
// starts a comment, blank lines are skipped. NAME is what the caller's jobs
// record as their submitter; "admin" lets that caller see and cancel every
// submitter's jobs (see caller.h).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/result.h"
#include "rig/service/caller.h"

namespace racerig::service {

class TokenTable {
 public:
  // Parses the file's text; errors name file:line and what was wrong
  // (missing token, a third word other than "admin", more than three words,
  // duplicate name or token, a token under 16 characters).
  static Result<TokenTable> parse(std::string_view text, const std::string& file_name);
  // Reads and parses the tokens file after checking it is private: a regular
  // file owned by root or by our effective user, that neither group nor
  // others may read or write. kInput naming the file, why it is refused and
  // the fix (chown, chmod 600).
  static Result<TokenTable> load(const std::filesystem::path& path);

  // The caller that `token` belongs to; nullopt for unknown tokens. Compares
  // in time independent of where a wrong token differs.
  std::optional<Caller> caller_of(std::string_view token) const;
  // The caller for an "authorization" metadata value ("Bearer TOKEN").
  std::optional<Caller> authenticate(std::string_view authorization) const;
  size_t size() const { return by_token_.size(); }
  // Every name in the file, with its admin mark.
  std::vector<Caller> callers() const;
  // How many names are marked admin.
  size_t admins() const;

 private:
  std::map<std::string, Caller> by_token_;  // token -> caller
};

}  // namespace racerig::service
