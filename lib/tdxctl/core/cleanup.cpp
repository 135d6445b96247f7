// Signal-time cleanup. Only async-signal-safe calls in the handler: the paths
// are copied into fixed-size slots at registration time, and directories are
// walked with getdents64 into a stack buffer (no opendir: it mallocs).
#include "tdxctl/core/cleanup.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace tdx::core {
namespace {

constexpr int kSlots = 64;
constexpr size_t kPathMax = 4096;
// Work directories are shallow (a staging folder at most); deeper trees are
// still removed by their owner's destructor.
constexpr int kMaxDepth = 8;
char g_paths[kSlots][kPathMax];
std::atomic<bool> g_tree[kSlots];
std::atomic<bool> g_used[kSlots];

constexpr int kTerminating[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int kCrashing[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

bool remove_at(int parent, const char* name, int depth) {
  int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    // Not a directory (or a symlink to one): the entry itself goes.
    if (errno == ENOTDIR || errno == ELOOP) return ::unlinkat(parent, name, 0) == 0;
    return errno == ENOENT;
  }
  bool ok = true;
  if (depth >= kMaxDepth) {
    ok = false;
  } else {
    // Removing entries while reading can make getdents skip some: read again
    // from the start until a pass finds nothing left to remove.
    for (bool removed = true; removed;) {
      removed = false;
      ::lseek(fd, 0, SEEK_SET);
      alignas(dirent64) char buf[4096];
      for (;;) {
        ssize_t n = ::getdents64(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
          auto* d = reinterpret_cast<dirent64*>(buf + off);
          off += d->d_reclen;
          if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
          bool gone = d->d_type == DT_DIR ? remove_at(fd, d->d_name, depth + 1)
                                          : (::unlinkat(fd, d->d_name, 0) == 0 ||
                                             (errno == EISDIR && remove_at(fd, d->d_name, depth + 1)));
          removed = removed || gone;
          ok = ok && gone;
        }
      }
    }
  }
  ::close(fd);
  return ::unlinkat(parent, name, AT_REMOVEDIR) == 0 && ok;
}

void remove_registered() {
  for (int i = 0; i < kSlots; ++i) {
    if (!g_used[i].load()) continue;
    if (g_tree[i].load()) remove_at(AT_FDCWD, g_paths[i], 0);
    else ::unlink(g_paths[i]);
  }
}

extern "C" void on_terminate(int) {
  remove_registered();
  // 128 + SIGINT is what shells report; tdxctl(1) documents 130 for every
  // interruption, whichever signal it was.
  ::_exit(130);
}

extern "C" void on_crash(int sig) {
  remove_registered();
  // SA_RESETHAND restored the default action: returning re-executes the
  // faulting instruction, and raise() covers SIGABRT and signals from kill().
  ::raise(sig);
}

int register_path(const std::string& path, bool tree) {
  // Absolute, so a later chdir cannot make the handler remove something else.
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec).string();
  if (ec || absolute.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_used[i].load()) continue;
    std::memcpy(g_paths[i], absolute.c_str(), absolute.size() + 1);
    g_tree[i].store(tree);
    if (g_used[i].compare_exchange_strong(expected, true)) return i;
  }
  return -1;
}

} // namespace

void install_cleanup_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_terminate;
  sigemptyset(&sa.sa_mask);
  for (int sig : kTerminating) sigaddset(&sa.sa_mask, sig);
  for (int sig : kTerminating) ::sigaction(sig, &sa, nullptr);
  struct sigaction crash {};
  crash.sa_handler = on_crash;
  sigemptyset(&crash.sa_mask);
  crash.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (int sig : kCrashing) ::sigaction(sig, &crash, nullptr);
}

int register_cleanup(const std::string& path) { return register_path(path, false); }
int register_cleanup_tree(const std::string& dir) { return register_path(dir, true); }

void unregister_cleanup(int slot) {
  if (slot >= 0 && slot < kSlots) g_used[slot].store(false);
}

bool remove_tree(const char* dir) { return remove_at(AT_FDCWD, dir, 0); }

} // namespace tdx::core
