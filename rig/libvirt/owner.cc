// Domain ownership tags (see owner.h).
#include "rig/libvirt/owner.h"

#include "rig/process/proc_stat.h"

#include <unistd.h>

#include <charconv>
#include <sstream>

#include <pugixml.hpp>

namespace racerig::libvirt {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

OwnerTag self_owner() {
  OwnerTag t;
  t.pid = ::getpid();
  t.start_ticks = process::start_ticks_of(t.pid).value_or(0);
  t.host = host_name();
  return t;
}

std::string owner_element(const OwnerTag& tag) {
  pugi::xml_document doc;
  pugi::xml_node n = doc.append_child((std::string(kOwnerPrefix) + ":owner").c_str());
  n.append_attribute((std::string("xmlns:") + kOwnerPrefix).c_str()) = kOwnerNamespace;
  n.append_attribute("pid") = std::to_string(tag.pid).c_str();
  n.append_attribute("start") = std::to_string(tag.start_ticks).c_str();
  n.append_attribute("host") = tag.host.c_str();
  if (!tag.run_dir.empty()) n.append_attribute("run-dir") = tag.run_dir.c_str();
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

Result<OwnerTag> parse_owner_element(std::string_view xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size());
  if (!r) return make_error(ErrorKind::kInput, std::string("owner metadata is not XML: ") + r.description());
  pugi::xml_node n = doc.document_element();
  const std::string name = n.name();
  if (name != "owner" && (name.size() < 6 || name.substr(name.size() - 6) != ":owner"))
    return make_error(ErrorKind::kInput, "owner metadata: root element is <" + name + ">, expected owner");
  OwnerTag tag;
  auto pid = parse_number<pid_t>(n.attribute("pid").value());
  if (!pid || *pid <= 0)
    return make_error(ErrorKind::kInput, std::string("owner metadata: bad pid '") + n.attribute("pid").value() + "'");
  auto start = parse_number<uint64_t>(n.attribute("start").value());
  if (!start)
    return make_error(ErrorKind::kInput, std::string("owner metadata: bad start '") + n.attribute("start").value() + "'");
  tag.pid = *pid;
  tag.start_ticks = *start;
  tag.host = n.attribute("host").value();
  if (tag.host.empty()) return make_error(ErrorKind::kInput, "owner metadata: no host");
  tag.run_dir = n.attribute("run-dir").value();
  return tag;
}

bool owner_alive(const OwnerTag& tag) {
  if (tag.host != self_owner().host) return true;
  auto start = process::start_ticks_of(tag.pid);
  return start.has_value() && *start == tag.start_ticks;
}

}  // namespace racerig::libvirt
