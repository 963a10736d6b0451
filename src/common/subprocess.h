#pragma once
// Running a child process: an executable with arguments, bytes on its stdin, extra environment
// variables, a time limit; its exit status, stdout and stderr (each capped) come back.
//
// The child gets a new process group, so a timeout kills it and anything it started. No shell is
// involved: arguments are passed as given. Thread-safe (each call is independent).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace certvault {

struct SubprocessSpec {
  std::vector<std::string> argv;  // argv[0] is the executable (a path, or a name on PATH)
  std::string stdin_data;
  std::map<std::string, std::string> env;  // added to (or replacing in) the inherited environment
  int64_t timeout_ms = 60000;
  size_t max_output = 1 << 20;  // bytes kept of stdout and of stderr each; the rest is dropped
};

struct SubprocessResult {
  int exit_code = -1;     // -1 if killed by a signal or the timeout
  bool timed_out = false;
  std::string stdout_data;
  std::string stderr_data;
};

// Fails (Unavailable) only if the process could not be started; a non-zero exit or a timeout is
// reported in the result.
Result<SubprocessResult> RunSubprocess(const SubprocessSpec& spec);

}  // namespace certvault
