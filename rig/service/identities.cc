// Client certificate identities (see identities.h).
#include "rig/service/identities.h"

#include <sstream>

#include "rig/service/guarded_file.h"

namespace racerig::service {

namespace {

constexpr std::string_view kAdmin = "admin";

// Names are what a CA puts in a CN for a user or a machine; nothing that
// would need quoting in a log line or a listing.
bool plain_name(const std::string& name) {
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '@' || c == '-'))
      return false;
  return true;
}

}  // namespace

Result<ClientIdentities> ClientIdentities::parse(std::string_view text, const std::string& file_name) {
  ClientIdentities table;
  table.file_name_ = file_name;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = file_name + ":" + std::to_string(number);
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string name, role, extra;
    if (!(words >> name)) continue;
    const bool admin = static_cast<bool>(words >> role);
    if (admin && role != kAdmin)
      return make_error(ErrorKind::kInput, where + ": the second word of \"" + name + "\" is \"" + role +
                                               "\"; want \"admin\" or nothing (CN [admin])");
    if (words >> extra) return make_error(ErrorKind::kInput, where + ": more than CN [admin] (\"" + extra + "\")");
    if (!plain_name(name))
      return make_error(ErrorKind::kInput,
                        where + ": \"" + name + "\" has a character other than letters, digits and . _ @ -");
    if (!table.by_name_.emplace(name, Caller{name, admin}).second)
      return make_error(ErrorKind::kInput, where + ": \"" + name + "\" appears twice");
  }
  if (table.by_name_.empty())
    return make_error(ErrorKind::kInput, file_name + ": no identities (want CN [admin] lines)");
  return table;
}

Result<ClientIdentities> ClientIdentities::load(const std::filesystem::path& path) {
  RACERIG_ASSIGN(std::string text, read_guarded_file(path, "the client identities file", /*secret=*/false));
  return parse(text, path.string());
}

std::optional<Caller> ClientIdentities::caller_of(std::string_view cn) const {
  auto it = by_name_.find(cn);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

size_t ClientIdentities::admins() const {
  size_t n = 0;
  for (const auto& [name, caller] : by_name_) n += caller.admin;
  return n;
}

}  // namespace racerig::service
