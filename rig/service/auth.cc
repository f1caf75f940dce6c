// Bearer tokens (see auth.h).
#include "rig/service/auth.h"

#include <set>
#include <sstream>

#include "rig/service/guarded_file.h"

namespace racerig::service {

namespace {

constexpr size_t kMinTokenLength = 16;
constexpr std::string_view kAdmin = "admin";

// `known` is never empty (tokens have a minimum length). The loop runs over
// all of `given` whatever differs.
bool equal_constant_time(std::string_view known, std::string_view given) {
  size_t diff = known.size() ^ given.size();
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(known[i % known.size()] ^ given[i]);
  return diff == 0;
}

}  // namespace

Result<TokenTable> TokenTable::parse(std::string_view text, const std::string& file_name) {
  TokenTable table;
  std::set<std::string> names;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = file_name + ":" + std::to_string(number);
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string name, token, role, extra;
    if (!(words >> name)) continue;
    if (!(words >> token))
      return make_error(ErrorKind::kInput, where + ": \"" + name + "\" has no token (want NAME TOKEN [admin])");
    const bool admin = static_cast<bool>(words >> role);
    if (admin && role != kAdmin)
      return make_error(ErrorKind::kInput, where + ": the third word of \"" + name + "\" is \"" + role +
                                               "\"; want \"admin\" or nothing (NAME TOKEN [admin])");
    if (words >> extra)
      return make_error(ErrorKind::kInput, where + ": more than NAME TOKEN [admin] (\"" + extra + "\")");
    if (token.size() < kMinTokenLength)
      return make_error(ErrorKind::kInput, where + ": the token of \"" + name + "\" is " + std::to_string(token.size()) +
                                               " characters; want at least " + std::to_string(kMinTokenLength));
    if (!names.insert(name).second) return make_error(ErrorKind::kInput, where + ": \"" + name + "\" appears twice");
    if (!table.by_token_.emplace(token, Caller{name, admin}).second)
      return make_error(ErrorKind::kInput, where + ": the token of \"" + name + "\" is also another name's");
  }
  if (table.by_token_.empty())
    return make_error(ErrorKind::kInput, file_name + ": no tokens (want NAME TOKEN [admin] lines)");
  return table;
}

Result<TokenTable> TokenTable::load(const std::filesystem::path& path) {
  RACERIG_ASSIGN(std::string text, read_guarded_file(path, "the tokens file", /*secret=*/true));
  return parse(text, path.string());
}

std::optional<Caller> TokenTable::caller_of(std::string_view token) const {
  std::optional<Caller> found;
  for (const auto& [known, caller] : by_token_)  // every entry compared: no early exit
    if (equal_constant_time(known, token)) found = caller;
  return found;
}

std::optional<Caller> TokenTable::authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return std::nullopt;
  return caller_of(authorization.substr(kBearer.size()));
}

std::vector<Caller> TokenTable::callers() const {
  std::vector<Caller> out;
  for (const auto& [token, caller] : by_token_) out.push_back(caller);
  return out;
}

size_t TokenTable::admins() const {
  size_t n = 0;
  for (const auto& [token, caller] : by_token_) n += caller.admin;
  return n;
}

}  // namespace racerig::service
