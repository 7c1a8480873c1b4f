// tests/cli/cli_runner.h — runs the built `stormkv` binary and captures what it printed.
#ifndef STORMKV_TESTS_CLI_CLI_RUNNER_H_
#define STORMKV_TESTS_CLI_CLI_RUNNER_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/test_env.h"  // ClosedLoopbackPort

namespace stormkv::testing {

struct CliRun {
  int exit_code = -1;  // the process's exit status; 128 + signal when it was killed
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs the stormkv binary (path from the STORMKV_CLI_PATH compile definition) with `args`,
// stdin from `stdin_text`, stdout and stderr captured to files (so stderr is not a terminal).
CliRun RunCli(const std::vector<std::string>& args, const std::string& stdin_text = "");

// "stormkv a b c" for failure messages.
std::string CommandLine(const std::vector<std::string>& args);

// One JSON value per non-empty line of `text` (what ingest prints); a line that is not JSON
// fails the case (EXPECT) and is kept as a discarded value.
std::vector<nlohmann::json> JsonLines(const std::string& text);

}  // namespace stormkv::testing

#endif  // STORMKV_TESTS_CLI_CLI_RUNNER_H_
