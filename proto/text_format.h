// Parsing protobuf text format (scenarios, workloads, variants.textproto)
// with the first error as "FILE:LINE:COL: message", the one collector every
// reader of a .textproto uses.
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include "rig/base/result.h"

namespace racerig::proto {

// Keeps the first error the parser reports, as "FILE:LINE:COL: message"
// (1-based line and column); warnings are dropped.
class FirstParseError : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstParseError(std::string file) : file_(std::move(file)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override;
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  // "" until an error was reported.
  const std::string& first() const { return first_; }

 private:
  std::string file_;
  std::string first_;
};

// Parses `text` (read from `file`, named in errors) into `out`, recording
// where each field was written into `where` when given. Fails (kInput) with
// the first error as FirstParseError writes it, or "FILE: parse error" when
// the parser failed without saying why.
Status parse_text_format(std::string_view text, const std::string& file, google::protobuf::Message* out,
                         google::protobuf::TextFormat::ParseInfoTree* where = nullptr);

}  // namespace racerig::proto
