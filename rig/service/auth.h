// Bearer tokens: the --tokens file (one "NAME TOKEN" pair per line, '#'
// starts a comment) and the lookup of a request's token.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "rig/base/result.h"

namespace racerig::service {

class TokenTable {
 public:
  // Parses the file's text; errors name file:line and what was wrong
  // (missing token, duplicate name or token, a token under 16 characters).
  static Result<TokenTable> parse(std::string_view text, const std::string& file_name);
  static Result<TokenTable> load(const std::filesystem::path& path);

  // The name that `token` belongs to; nullopt for unknown tokens. Compares in
  // time independent of where a wrong token differs.
  std::optional<std::string> name_of(std::string_view token) const;
  // The name for an "authorization" metadata value ("Bearer TOKEN").
  std::optional<std::string> authenticate(std::string_view authorization) const;
  size_t size() const { return by_token_.size(); }

 private:
  std::map<std::string, std::string> by_token_;  // token -> name
};

}  // namespace racerig::service
