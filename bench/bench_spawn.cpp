// bench_spawn: the wall time of one command from its spawn to its exit, as a
// caller that starts it without copying itself sees it (posix_spawn: a vfork
// and an exec). bench/run times `tdxctl quote verify` with it. Timed from the
// shell, the shell's fork of itself (a page-table copy: ~2-4 ms on the
// development VM), the `taskset` that pinned the command and the `date` on
// each side of it (~5-7 ms together) were counted against the CLI, ~4 % of a
// 3,000-quote batch.
//
// Usage: bench_spawn CPU STDIN STDOUT COMMAND [ARG...]
//   CPU     the cores the command runs on, "0" or "0,1" (it inherits this
//           process's affinity), or -1 for any
//   STDIN   a file for its standard input (/dev/null for none)
//   STDOUT  a file for its standard output, created or truncated before the
//           clock starts
// Prints the seconds, to the microsecond; exits 1 when the command could not
// start or did not exit 0.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

double now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

int open_or_die(const char* path, int flags) {
  int fd = ::open(path, flags | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "bench_spawn: cannot open %s: %s\n", path, std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_spawn CPU STDIN STDOUT COMMAND [ARG...]\n");
    return 2;
  }
  if (std::strcmp(argv[1], "-1") != 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (const char* p = argv[1];; ++p) {
      char* end = nullptr;
      errno = 0;
      const long cpu = std::strtol(p, &end, 10);
      if (end == p || errno || cpu < 0 || cpu >= CPU_SETSIZE || (*end != ',' && *end != '\0')) {
        std::fprintf(stderr, "bench_spawn: CPU '%s': expected core numbers separated by ',' or -1\n", argv[1]);
        return 2;
      }
      CPU_SET(static_cast<int>(cpu), &set);
      p = end;
      if (*p == '\0') break;
    }
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      std::fprintf(stderr, "bench_spawn: cannot pin to cores %s: %s\n", argv[1], std::strerror(errno));
      return 1;
    }
  }
  const int in = open_or_die(argv[2], O_RDONLY);
  const int out = open_or_die(argv[3], O_WRONLY | O_CREAT | O_TRUNC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);

  pid_t pid = 0;
  const double start = now();
  const int err = posix_spawn(&pid, argv[4], &actions, nullptr, argv + 4, environ);
  if (err != 0) {
    std::fprintf(stderr, "bench_spawn: cannot start %s: %s\n", argv[4], std::strerror(err));
    return 1;
  }
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  const double seconds = now() - start;
  if (waited != pid) {
    std::fprintf(stderr, "bench_spawn: cannot wait for %s: %s\n", argv[4], std::strerror(errno));
    return 1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench_spawn: %s did not exit 0 (wait status %d)\n", argv[4], status);
    return 1;
  }
  std::printf("%.6f\n", seconds);
  return 0;
}
