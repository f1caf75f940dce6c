// The server's scenarios and kernels (see catalog.h).
#include "rig/service/catalog.h"

#include <unistd.h>

#include <cstdlib>

#include "rig/base/file.h"
#include "rig/jobs/kernels.h"
#include "rig/scenario/scenario.h"

namespace racerig::service {

Result<pb::ListScenariosResponse> Catalog::scenarios() const {
  pb::ListScenariosResponse out;
  for (const auto& name : scenario::list_scenarios(env_.scenarios_dir())) {
    auto* e = out.add_scenarios();
    e->set_name(name);
    auto path = scenario::find_named_scenario(name, env_.scenarios_dir());
    if (!path.ok()) continue;
    auto loaded = scenario::load_scenario(*path, 2);
    if (loaded.ok()) e->set_description(loaded->scenario.description());
  }
  return out;
}

Result<const kbuild::Cache*> Catalog::cache() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!cache_) {
    RACERIG_ASSIGN(kbuild::Cache opened, jobs::open_cache(env_));
    cache_.emplace(std::move(opened));
  }
  return &*cache_;
}

Result<pb::ListKernelsResponse> Catalog::kernels() const {
  RACERIG_ASSIGN(const kbuild::Cache* c, cache());
  const kbuild::Cache& cache = *c;
  RACERIG_ASSIGN(auto variants, cache.variants());
  pb::ListKernelsResponse out;
  for (const auto& v : variants) {
    auto* e = out.add_kernels();
    e->set_name(v.name());
    e->set_description(v.description());
    e->set_built(cache.find(v).has_value());
  }
  return out;
}

std::optional<std::string> Catalog::check_scenario_name(const std::string& name,
                                                        const std::filesystem::path& dir) const {
  // Names of the catalogue only: a path, or a file in the daemon's working
  // directory, would let a client make the server read its other files.
  auto path = scenario::find_named_scenario(name, dir.empty() ? env_.scenarios_dir() : dir);
  if (!path.ok()) return path.error().message;
  return std::nullopt;
}

std::optional<std::string> Catalog::check_variant(const std::string& name) const {
  auto cache = this->cache();
  if (!cache.ok()) return cache.error().message;
  auto v = (*cache)->variant(name);
  if (!v.ok()) return v.error().message;
  return std::nullopt;
}

std::optional<std::string> Catalog::check_scenario_text(const std::string& text, int vcpus) const {
  char tmpl[] = "/tmp/racerigd-scenario-XXXXXX.textproto";
  int fd = ::mkstemps(tmpl, 10);
  if (fd < 0) return "cannot write a temporary file to check it";
  ::close(fd);
  (void)write_file(tmpl, text);  // a failed write shows as a scenario that does not parse
  auto loaded = scenario::load_scenario(tmpl, vcpus);
  ::unlink(tmpl);
  if (loaded.ok()) return std::nullopt;
  // The temporary file's name means nothing to the client: "line N" is what counts.
  std::string message = loaded.error().message;
  for (size_t at; (at = message.find(tmpl)) != std::string::npos;)
    message.replace(at, std::string(tmpl).size(), "textproto");
  return message;
}

}  // namespace racerig::service
