// Protobuf text-format parsing with a located first error (see text_format.h).
#include "proto/text_format.h"

namespace racerig::proto {

void FirstParseError::AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) {
  if (!first_.empty()) return;
  first_ = file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
}

Status parse_text_format(std::string_view text, const std::string& file, google::protobuf::Message* out,
                         google::protobuf::TextFormat::ParseInfoTree* where) {
  google::protobuf::TextFormat::Parser parser;
  FirstParseError errors(file);
  parser.RecordErrorsTo(&errors);
  if (where != nullptr) parser.WriteLocationsTo(where);
  if (!parser.ParseFromString(std::string(text), out))
    return make_error(ErrorKind::kInput, errors.first().empty() ? file + ": parse error" : errors.first());
  return Status::Ok();
}

}  // namespace racerig::proto
