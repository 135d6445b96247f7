#pragma once
// The process seam. Every child process tdxctl starts goes through a
// ProcessRunner: argv vectors only (never a shell string), output captured,
// exit status and a timeout. Secrets travel on stdin, never in argv.
// RecordingRunner is what --dry-run and tests use: it records the argv and
// answers with a canned result instead of running anything.

#include "tdxctl/core/error.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tdx::core {

struct Command {
  std::vector<std::string> argv;
  std::string stdin_data;       // written to the child's stdin, then closed
  bool stdin_is_secret = false; // never logged or recorded in plain form
  std::optional<std::filesystem::path> cwd;
  std::vector<std::string> env; // extra "NAME=value" entries on top of ours
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

struct Completed {
  int exit_status = -1; // exit code, or -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  // The child closed its stdin (EPIPE) before taking all of stdin_data.
  bool stdin_refused = false;
  size_t stdin_written = 0;
  bool ok() const { return exit_status == 0 && !timed_out; }
};

class ProcessRunner {
public:
  virtual ~ProcessRunner() = default;
  // Runs the command; an error only when it could not be started at all.
  virtual Result<Completed> run(const Command& command) = 0;
};

class RealRunner final : public ProcessRunner {
public:
  Result<Completed> run(const Command& command) override;
};

class RecordingRunner final : public ProcessRunner {
public:
  using Responder = std::function<Completed(const Command&)>;
  explicit RecordingRunner(Responder responder = {}) : m_responder(std::move(responder)) {}
  Result<Completed> run(const Command& command) override;
  const std::vector<Command>& commands() const { return m_commands; }

private:
  Responder m_responder;
  std::vector<Command> m_commands;
};

// The argv as a copy-pasteable shell line (quoted where needed), for plans
// and logs. stdin is shown as "< (N bytes, secret)" when it is a secret.
std::string describe(const Command& command);
std::string shell_quote(const std::string& word);

// Runs and turns a non-zero exit into a Failure naming the program and its
// stderr; also a zero exit from a child that did not take all of its stdin
// (a ruleset or script only partly read was not applied as given).
Completed run_checked(ProcessRunner& runner, const Command& command,
                      const std::string& what);

} // namespace tdx::core
