// CLI helpers (see cli_util.h).
#include "host/cli_util.h"
#include "rig/qemu/cancel.h"
#include "rig/run/backend.h"

#include <cstdio>
#include <fstream>

#include <google/protobuf/util/json_util.h>

namespace racerig::host {

std::optional<std::string> ParsedArgs::get(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::all(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

Result<ParsedArgs> parse_args(const Args& args, const std::set<std::string>& with_value,
                              const std::set<std::string>& flags) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (flags.count(name) != 0 && with_value.count(name) == 0) {
      if (inline_value) return make_error(ErrorKind::kInput, "option --" + name + " takes no value");
      out.flags.insert(name);
    } else if (with_value.count(name) != 0) {
      if (!inline_value) {
        if (i + 1 >= args.size()) return make_error(ErrorKind::kInput, "option --" + name + " needs a value");
        value = args[++i];
      }
      out.values[name].push_back(value);
    } else {
      std::string known;
      for (const auto& k : with_value) known += " --" + k;
      for (const auto& k : flags) known += " --" + k;
      return make_error(ErrorKind::kInput, "unknown option --" + name + " (known:" + known + ")");
    }
  }
  return out;
}

namespace {

Result<int> parse_positive_int(const std::string& option, const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 1 || v > 100000)
    return make_error(ErrorKind::kInput,
                      "--" + option + " wants a number from 1 to 100000, got \"" + text + "\"");
  return static_cast<int>(v);
}

}  // namespace

Result<int> ParsedArgs::positive_int(const std::string& name, int fallback) const {
  if (auto v = get(name)) return parse_positive_int(name, *v);
  return fallback;
}

void progress_line(const std::string& line) {
  std::fprintf(stderr, "racerig: %s\n", line.c_str());
  std::fflush(stderr);
}

Status write_json(const google::protobuf::Message& message, const std::string& path) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(message, &json, opts);
  if (!st.ok()) return make_error(ErrorKind::kInternal, "JSON conversion: " + std::string(st.message()));
  if (path == "-") {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return Status::Ok();
  }
  std::ofstream out(path);
  out << json;
  if (!out) return errno_error("writing " + path);
  return Status::Ok();
}

Status apply_backend_args(const ParsedArgs& args, run::RunOptions& options) {
  if (auto b = args.get("backend")) {
    RACERIG_ASSIGN(options.backend, run::parse_backend(*b));
  }
  if (auto uri = args.get("libvirt-uri")) {
    if (uri->empty()) return make_error(ErrorKind::kInput, "--libvirt-uri: empty URI");
    if (args.get("backend") && options.backend != run::RunOptions::Backend::kLibvirt)
      return make_error(ErrorKind::kInput, "--libvirt-uri goes with --backend libvirt, not --backend " + *args.get("backend"));
    options.backend = run::RunOptions::Backend::kLibvirt;
    options.libvirt_uri = *uri;
  }
  return Status::Ok();
}

int exit_code_for(const Error& error) { return error.kind == ErrorKind::kInput ? kExitUsage : kExitInfra; }

int report_error(const std::string& context, const Error& error) {
  std::fprintf(stderr, "racerig: %s: %s\n", context.c_str(), error.message.c_str());
  return exit_code_for(error);
}

int finish_runs(const pb::ReproduceReport& all, const std::optional<std::string>& json, int infra_errors) {
  if (json) {
    if (Status s = write_json(all, *json); !s.ok()) return report_error("json", s.error());
  }
  if (vm::cancelled()) {
    progress_line("interrupted");
    return kExitInfra;
  }
  if (infra_errors > 0) return kExitInfra;
  return all.reproduced() == all.runs_size() && all.runs_size() > 0 ? kExitOk : kExitNegative;
}

}  // namespace racerig::host
