// Who makes a call to the service: the name its token has in the tokens
// file (the submitter recorded on its jobs) and whether that file marks the
// name as an admin. JobService decides from it which jobs a call may see.
#pragma once

#include <string>

namespace racerig::service {

struct Caller {
  std::string name;
  // An admin sees, watches, fetches and cancels every submitter's jobs;
  // anyone else only their own.
  bool admin = false;
};

}  // namespace racerig::service
