// Process layout: tdxctl forks a keeper, which unshares the mount, UTS, PID
// and (unless the network is wanted) network namespaces and forks the
// namespace's PID 1; PID 1 sets up the mounts, pivots into the tree and runs
// the body. Two forks rather than clone(CLONE_NEWPID) keep glibc's view of
// each process consistent. Both die with their parent (PR_SET_PDEATHSIG), and
// a PID namespace dies with its PID 1. A Failure thrown in the body travels
// back as JSON over a close-on-exec pipe.
#include "tdxctl/image/build_namespace.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tdx::image {

namespace fs = std::filesystem;

namespace {

constexpr const char* base_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

core::Failure setup_error(const std::string& what) {
  return core::Failure(core::Category::failed, "image.namespace.setup", "build namespace: " + what + ": " + std::strerror(errno),
                 "tdxctl image build needs root (CAP_SYS_ADMIN) and a kernel with mount, PID and UTS namespaces");
}

void write_all(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string out;
  std::array<char, 65536> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  return out;
}

// Dies with the parent; a parent already gone (the race before prctl) counts.
// PID 1 of a new namespace sees no parent (getppid() is 0) and skips the
// check: its parent, the keeper, only exits after it.
void die_with_parent(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent > 0 && ::getppid() != parent) ::_exit(137);
}

// tdxctl's cleanup handlers remove the build's files; in here they must not run.
void default_signals() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE, SIGCHLD})
    std::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The directory `inside` (absolute, in the tree), walked from the tree's root
// one component at a time without following links; created (0755) when
// `create`. Returns an O_PATH descriptor; mount through /proc/self/fd/N.
int open_inside(int rootfd, const std::string& inside, bool create) {
  int fd = ::dup(rootfd);
  size_t pos = 1;
  while (fd >= 0 && pos < inside.size()) {
    size_t next = inside.find('/', pos);
    auto part = inside.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    pos = next == std::string::npos ? inside.size() : next + 1;
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      ::close(fd);
      errno = EINVAL;
      return -1;
    }
    if (create) ::mkdirat(fd, part.c_str(), 0755); // EEXIST is fine; the open below checks the type
    int sub = ::openat(fd, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(fd);
    fd = sub;
  }
  return fd;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void mount_at(int rootfd, const std::string& inside, bool create, const char* source, const char* type,
              unsigned long flags, const char* data) {
  int fd = open_inside(rootfd, inside, create);
  if (fd < 0) throw setup_error(inside + " in the tree is not a directory");
  int rc = ::mount(source, fd_path(fd).c_str(), type, flags, data);
  ::close(fd);
  if (rc != 0) throw setup_error(std::string("mounting ") + (type ? type : source) + " on " + inside);
}

// A minimal /dev: the character devices programs expect, and the fd links.
void populate_dev(int rootfd) {
  int dev = open_inside(rootfd, "/dev", false);
  int real = ::openat(dev, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); // the tmpfs, not the O_PATH view
  ::close(dev);
  if (real < 0) throw setup_error("opening /dev");
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  for (auto n : {Node{"null", 1, 3}, Node{"zero", 1, 5}, Node{"full", 1, 7}, Node{"random", 1, 8},
                 Node{"urandom", 1, 9}, Node{"tty", 5, 0}}) {
    if (::mknodat(real, n.name, S_IFCHR | 0666, makedev(n.major, n.minor)) != 0 ||
        ::fchmodat(real, n.name, 0666, 0) != 0)
      throw setup_error(std::string("creating /dev/") + n.name);
  }
  for (auto [name, target] : {std::pair{"fd", "/proc/self/fd"}, std::pair{"stdin", "/proc/self/fd/0"},
                              std::pair{"stdout", "/proc/self/fd/1"}, std::pair{"stderr", "/proc/self/fd/2"}})
    if (::symlinkat(target, real, name) != 0) throw setup_error(std::string("creating /dev/") + name);
  ::symlinkat("pts/ptmx", real, "ptmx");
  ::mkdirat(real, "pts", 0755);
  ::mkdirat(real, "shm", 01777);
  ::fchmodat(real, "shm", 01777, 0);
  ::close(real);
}

[[noreturn]] void namespace_init(const NamespaceSpec& spec, const std::function<void()>& body, int error_fd) {
  try {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throw setup_error("making mounts private");
    if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) throw setup_error("setting the hostname");
    // The tree as a mount point of its own (pivot_root needs one).
    if (::mount(spec.root.c_str(), spec.root.c_str(), nullptr, MS_BIND, nullptr) != 0)
      throw setup_error("binding the tree");
    int rootfd = ::open(spec.root.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0) throw setup_error("opening the tree");

    std::string resolv;
    if (spec.network) {
      int fd = ::open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        resolv = read_all(fd);
        ::close(fd);
      }
    }
    mount_at(rootfd, "/proc", true, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    mount_at(rootfd, "/sys", true, "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    mount_at(rootfd, "/dev", true, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m");
    populate_dev(rootfd);
    mount_at(rootfd, "/dev/pts", true, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    mount_at(rootfd, "/dev/shm", true, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_at(rootfd, "/run", true, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    mount_at(rootfd, "/tmp", true, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    for (auto& b : spec.binds) {
      bool under_run = b.inside.rfind("/run/", 0) == 0;
      mount_at(rootfd, b.inside, under_run, b.host.c_str(), nullptr, MS_BIND | MS_REC, nullptr);
      if (b.read_only) mount_at(rootfd, b.inside, false, nullptr, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
    }
    if (spec.network && !resolv.empty()) {
      // The image's resolv.conf is usually a link into /run (systemd-resolved's
      // stub), which is our tmpfs: the host's resolver goes there.
      int run = open_inside(rootfd, "/run/systemd/resolve", true);
      int dir = run >= 0 ? ::openat(run, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
      if (run >= 0) ::close(run);
      for (auto name : {"stub-resolv.conf", "resolv.conf"}) {
        int fd = dir >= 0 ? ::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
        if (fd >= 0) {
          write_all(fd, resolv);
          ::close(fd);
        }
      }
      if (dir >= 0) ::close(dir);
    }

    if (::fchdir(rootfd) != 0) throw setup_error("entering the tree");
    ::close(rootfd);
    if (::syscall(SYS_pivot_root, ".", ".") != 0) throw setup_error("pivot_root into the tree");
    if (::umount2(".", MNT_DETACH) != 0) throw setup_error("detaching the host's filesystem");
    if (::chdir("/") != 0) throw setup_error("chdir /");
    ::umask(022);

    ::clearenv();
    ::setenv("PATH", base_path, 1);
    ::setenv("HOME", "/root", 1);
    ::setenv("LANG", "C.UTF-8", 1);
    ::setenv("DEBIAN_FRONTEND", "noninteractive", 1);
    ::setenv("SYSTEMD_OFFLINE", "1", 1); // systemctl edits unit links instead of calling a manager
    for (auto& e : spec.env) ::putenv(const_cast<char*>(e.c_str()));
    body();
    ::_exit(0);
  } catch (const core::Failure& f) {
    const auto& e = f.error();
    write_all(error_fd, core::Json{{"category", static_cast<int>(e.category)}, {"code", e.code}, {"message", e.message},
                             {"hint", e.hint}}
                            .dump());
  } catch (const std::exception& e) {
    write_all(error_fd, core::Json{{"category", static_cast<int>(core::Category::failed)}, {"code", "image.namespace.error"},
                             {"message", std::string("in the build namespace: ") + e.what()}, {"hint", ""}}
                            .dump());
  } catch (...) {
  }
  ::_exit(1);
}

} // namespace

void run_in_build_namespace(const NamespaceSpec& spec, const std::function<void()>& body) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw setup_error("pipe");
  pid_t tdxctl = ::getpid();
  pid_t keeper = ::fork();
  if (keeper < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    throw setup_error("fork");
  }
  if (keeper == 0) {
    ::close(pipefd[0]);
    default_signals();
    die_with_parent(tdxctl);
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWPID | (spec.network ? 0 : CLONE_NEWNET);
    if (::unshare(flags) != 0) {
      auto err = setup_error("unshare");
      write_all(pipefd[1], core::Json{{"category", static_cast<int>(err.error().category)}, {"code", err.error().code},
                                {"message", err.error().message}, {"hint", err.error().hint}}
                               .dump());
      ::_exit(1);
    }
    pid_t init = ::fork();
    if (init == 0) {
      die_with_parent(0);
      namespace_init(spec, body, pipefd[1]);
    }
    ::close(pipefd[1]);
    int status = 0;
    while (init > 0 && ::waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    ::_exit(init > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  ::close(pipefd[1]);
  auto report = read_all(pipefd[0]);
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(keeper, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (!report.empty()) {
    try {
      auto j = core::Json::parse(report);
      throw core::Failure(static_cast<core::Category>(j.at("category").get<int>()), j.at("code").get<std::string>(),
                    j.at("message").get<std::string>(), j.at("hint").get<std::string>());
    } catch (const core::Json::exception&) {
    }
  }
  throw core::Failure(core::Category::failed, "image.namespace.died",
                "the build namespace ended without a result (" +
                    (WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                         : "exit status " + std::to_string(WEXITSTATUS(status))) +
                    ")");
}

std::string run_inside(const std::vector<std::string>& argv, const std::string& what, const std::string& code) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw setup_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::string msg = argv[0] + ": " + std::strerror(errno) + "\n";
    write_all(2, msg);
    ::_exit(127);
  }
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    throw setup_error("fork");
  }
  auto output = read_all(out[0]);
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto tail = output.size() > 4000 ? "..." + output.substr(output.size() - 4000) : output;
    throw core::Failure(core::Category::failed, code,
                  what + " failed in the image (" +
                      (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                         : "signal " + std::to_string(WTERMSIG(status))) +
                      ")" + (tail.empty() ? "" : ":\n" + tail));
  }
  return output;
}

} // namespace tdx::image
