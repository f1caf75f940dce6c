// Kernel affinity (see kernel_affinity.h).
#include "rig/service/kernel_affinity.h"

#include <algorithm>
#include <system_error>

#include "rig/kbuild/patches.h"

namespace racerig::service {

namespace {

// Adds the key of variant `name` plus `patches` to `out`, when it has one.
void add_key(const kbuild::Cache &cache, const std::string &name,
             const std::vector<kbuild::PatchFile> &patches,
             std::vector<std::string> &out) {
  auto variant = cache.variant(name);
  if (!variant.ok())
    return;
  auto key = cache.key(*variant, patches);
  if (key.ok())
    out.push_back(std::move(*key));
}

} // namespace

std::vector<std::string> kernel_needs(const kbuild::Cache &cache,
                                      const pb::Job &job) {
  std::vector<std::string> out;
  if (job.has_reproduce())
    add_key(cache, job.reproduce().kernel(), {}, out);
  if (job.has_stress())
    add_key(cache, job.stress().kernel(), {}, out);
  if (job.has_explore())
    add_key(cache, job.explore().kernel(), {}, out);
  if (job.has_validate()) {
    const std::string base = job.validate().base().empty()
                                 ? std::string("buggy")
                                 : job.validate().base();
    add_key(cache, base, {}, out);
    std::vector<kbuild::PatchFile> patches;
    bool parsed = true;
    for (const auto &p : job.validate().patches()) {
      auto patch = kbuild::parse_patch(p.name(), p.content());
      if (!patch.ok()) {
        parsed = false;
        break;
      }
      patches.push_back(std::move(*patch));
    }
    if (parsed && !patches.empty())
      add_key(cache, base, patches, out);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> held_kernels(const std::filesystem::path &cache_root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(cache_root / "kernels", ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code exists;
    if (std::filesystem::exists(it->path() / "meta", exists))
      out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace racerig::service
