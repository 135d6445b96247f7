// posix_spawn + pipes + poll: the ~200-line runner CONVENTIONS §13 asks for,
// because no Debian library gives argv-only spawning with stdin, capture,
// timeout and no shell. The child gets its own process group so a timeout
// kills everything it started.
#include "tdxctl/core/runner.hpp"

#include "tdxctl/core/secret.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tdx::core {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() { close_both(); }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
  void close_both() { close_end(0), close_end(1); }
};

// Ours without the secrets (core/secret.hpp's list: a child's
// /proc/PID/environ is readable by its user for its whole life), plus the
// command's explicit extras.
std::vector<std::string> child_environment(const Command& command) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!is_secret_env_entry(*e)) env.emplace_back(*e);
  for (const auto& extra : command.env) {
    auto name = extra.substr(0, extra.find('=') + 1);
    std::erase_if(env, [&](const std::string& s) { return s.starts_with(name); });
    env.push_back(extra);
  }
  return env;
}

} // namespace

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./=:,+@%") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string describe(const Command& command) {
  std::string line;
  for (const auto& word : command.argv) {
    if (!line.empty()) line += ' ';
    line += shell_quote(word);
  }
  if (!command.stdin_data.empty()) {
    line += command.stdin_is_secret
                ? " < (" + std::to_string(command.stdin_data.size()) + " bytes, secret)"
                : " < (" + std::to_string(command.stdin_data.size()) + " bytes)";
  }
  return line;
}

Result<Completed> RealRunner::run(const Command& command) {
  if (command.argv.empty())
    return fail(Category::failed, "runner.empty", "internal error: empty argv");
  spdlog::debug("run: {}", describe(command));

  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) || ::pipe2(out.fd, O_CLOEXEC) || ::pipe2(err.fd, O_CLOEXEC))
    return fail(Category::failed, "runner.pipe", std::string("pipe: ") + std::strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  if (command.cwd) posix_spawn_file_actions_addchdir_np(&actions, command.cwd->c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);

  auto env_storage = child_environment(command);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return fail(Category::not_ready, "runner.spawn",
                "cannot run " + command.argv[0] + ": " + std::strerror(rc),
                rc == ENOENT ? "install the package that provides " + command.argv[0] : "");
  in.close_end(0), out.close_end(1), err.close_end(1);

  Completed done;
  size_t written = 0;
  if (command.stdin_data.empty()) in.close_end(1);
  else ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + command.timeout;
  char buf[65536];
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out.fd[0] >= 0) fds[n++] = {out.fd[0], POLLIN, 0};
    if (err.fd[0] >= 0) fds[n++] = {err.fd[0], POLLIN, 0};
    if (in.fd[1] >= 0) fds[n++] = {in.fd[1], POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(-pid, SIGKILL);
      done.timed_out = true;
      break;
    }
    int ready = ::poll(fds, n, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < n && ready > 0; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in.fd[1]) {
        ssize_t w = ::write(in.fd[1], command.stdin_data.data() + written,
                            command.stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          // EPIPE: the child closed its stdin (it exited, or stopped reading);
          // with SIGPIPE ignored that is an answer, not a crash. Keep reading
          // its output and collect its status; the rest is not sent.
          done.stdin_refused = true;
          in.close_end(1);
        }
        if (written == command.stdin_data.size()) in.close_end(1);
        continue;
      }
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      bool is_out = fds[i].fd == out.fd[0];
      if (r > 0) (is_out ? done.out : done.err).append(buf, static_cast<size_t>(r));
      else if (r == 0 || errno != EINTR) (is_out ? out : err).close_end(0);
    }
  }
  in.close_end(1);
  done.stdin_written = written;
  if (written < command.stdin_data.size()) done.stdin_refused = true;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) done.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) done.signal = WTERMSIG(status);
  spdlog::debug("exit {}{}", done.exit_status, done.timed_out ? " (timed out)" : "");
  return done;
}

Result<Completed> RecordingRunner::run(const Command& command) {
  m_commands.push_back(command);
  if (command.stdin_is_secret) m_commands.back().stdin_data.assign(command.stdin_data.size(), '*');
  if (m_responder) return m_responder(command);
  Completed done;
  done.exit_status = 0;
  return done;
}

Completed run_checked(ProcessRunner& runner, const Command& command, const std::string& what) {
  auto done = value_or_throw(runner.run(command));
  if (done.ok() && !done.stdin_refused) return done;
  if (done.ok())
    throw Failure(Category::failed, "command.failed",
                  what + ": " + command.argv[0] + " closed its input after taking " + std::to_string(done.stdin_written) +
                      " of " + std::to_string(command.stdin_data.size()) + " bytes",
                  "the command was: " + describe(command));
  std::string why = done.timed_out ? "timed out after " +
                                         std::to_string(command.timeout.count() / 1000) + " s"
                    : done.signal  ? "killed by signal " + std::to_string(done.signal)
                                   : "exited with status " + std::to_string(done.exit_status);
  auto err = done.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  throw Failure(Category::failed, "command.failed",
                what + ": " + command.argv[0] + " " + why + (err.empty() ? "" : ": " + err),
                "the command was: " + describe(command));
}

} // namespace tdx::core
