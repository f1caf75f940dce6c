// A job's artifacts by name (see artifacts.h).
#include "rig/service/artifacts.h"

#include <google/protobuf/util/json_util.h>

#include "rig/base/file.h"
#include "rig/verdict/junit.h"

namespace racerig::service {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr const char* kKeptFiles[] = {"console.log", "qemu.log", "agent.log"};

// The report, whatever the job's kind; null before there is one.
const Message* report_of(const pb::Job& job) {
  const FieldDescriptor* field = pb::Job::descriptor()->FindFieldByNumber(job.report_case());
  if (field == nullptr) return nullptr;
  return &job.GetReflection()->GetMessage(job, field);
}

// Calls `each` on every RunReport under `m`, depth first, in field order.
template <typename M, typename F>
void walk(M& m, const F& each) {
  if constexpr (std::is_const_v<M>) {
    if (auto* r = dynamic_cast<const pb::RunReport*>(&m)) return each(*r);
  } else {
    if (auto* r = dynamic_cast<pb::RunReport*>(&m)) return each(*r);
  }
  const auto* refl = m.GetReflection();
  const auto* desc = m.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int k = 0; k < refl->FieldSize(m, f); ++k) {
        if constexpr (std::is_const_v<M>)
          walk(refl->GetRepeatedMessage(m, f, k), each);
        else
          walk(*refl->MutableRepeatedMessage(&m, f, k), each);
      }
    } else if (refl->HasField(m, f)) {
      if constexpr (std::is_const_v<M>)
        walk(refl->GetMessage(m, f), each);
      else
        walk(*refl->MutableMessage(&m, f), each);
    }
  }
}

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<const pb::RunReport*> runs_of(const pb::Job& job) {
  std::vector<const pb::RunReport*> runs;
  if (const Message* report = report_of(job)) walk(*report, [&](const pb::RunReport& r) { runs.push_back(&r); });
  return runs;
}

void strip_consoles(pb::Job& job) {
  const FieldDescriptor* field = pb::Job::descriptor()->FindFieldByNumber(job.report_case());
  if (field == nullptr) return;
  walk(*job.GetReflection()->MutableMessage(&job, field), [](pb::RunReport& r) { r.clear_console(); });
}

bool omit_large_report(pb::Job& job, size_t max_bytes) {
  const Message* report = report_of(job);
  if (report == nullptr || report->ByteSizeLong() <= max_bytes) return false;
  job.GetReflection()->ClearField(&job, pb::Job::descriptor()->FindFieldByNumber(job.report_case()));
  job.set_report_omitted(true);
  return true;
}

std::vector<std::string> artifact_names(const pb::Job& job) {
  std::vector<std::string> names;
  if (report_of(job) == nullptr) return names;
  names.push_back("report.json");
  if (job.has_validate_report()) names.push_back("junit.xml");
  const auto runs = runs_of(job);
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string run = "runs/" + std::to_string(i + 1) + "/";
    names.push_back(run + "console");
    if (!runs[i]->kept_logs().empty())
      for (const char* f : kKeptFiles) names.push_back(run + f);
  }
  return names;
}

ServiceResult<std::string> artifact_content(const pb::Job& job, const std::string& name) {
  const Message* report = report_of(job);
  auto missing = [&] {
    const auto names = artifact_names(job);
    return service_error(Code::kNotFound, "name: job " + job.id() + " has no artifact \"" + name + "\" (it has: " +
                                              (names.empty() ? std::string("none yet") : list(names)) + ")");
  };
  if (report == nullptr) return missing();
  if (name == "report.json") {
    google::protobuf::util::JsonPrintOptions opts;
    opts.add_whitespace = true;
    opts.preserve_proto_field_names = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(*report, &json, opts).ok())
      return service_error(Code::kInternal, "job " + job.id() + ": the report does not convert to JSON");
    return json;
  }
  if (name == "junit.xml") {
    if (!job.has_validate_report()) return missing();
    return verdict::junit_xml(job.validate_report());
  }
  if (name.rfind("runs/", 0) != 0) return missing();
  const size_t slash = name.find('/', 5);
  if (slash == std::string::npos) return missing();
  const std::string number = name.substr(5, slash - 5);
  const std::string file = name.substr(slash + 1);
  if (number.empty() || number.size() > 9 || number.find_first_not_of("0123456789") != std::string::npos)
    return missing();
  const auto runs = runs_of(job);
  const size_t n = std::stoul(number);
  if (n < 1 || n > runs.size()) return missing();
  const pb::RunReport& run = *runs[n - 1];
  if (file == "console") return run.console();
  for (const char* f : kKeptFiles) {
    if (file != f || run.kept_logs().empty()) continue;
    // kept_logs is a directory the daemon's own run wrote into the report.
    auto text = read_file(std::filesystem::path(run.kept_logs()) / f, size_t{64} << 20);
    if (!text.ok()) return service_error(Code::kInternal, "job " + job.id() + ": " + text.error().message);
    return std::move(*text);
  }
  return missing();
}

}  // namespace racerig::service
