// Signal-time cleanup. Only async-signal-safe calls in the handler: the paths
// are copied into fixed-size slots at registration time.
#include "tdxctl/core/cleanup.hpp"

#include <atomic>
#include <csignal>
#include <cstring>
#include <unistd.h>

namespace tdx::core {
namespace {

constexpr int kSlots = 64;
constexpr size_t kPathMax = 4096;
char g_paths[kSlots][kPathMax];
std::atomic<bool> g_used[kSlots];

extern "C" void on_signal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load()) ::unlink(g_paths[i]);
  ::signal(sig, SIG_DFL);
  // 128 + SIGINT is what shells report; keep the convention for SIGTERM too.
  ::_exit(130);
}

} // namespace

void install_cleanup_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int register_cleanup(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_used[i].load()) continue;
    std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
    if (g_used[i].compare_exchange_strong(expected, true)) return i;
  }
  return -1;
}

void unregister_cleanup(int slot) {
  if (slot >= 0 && slot < kSlots) g_used[slot].store(false);
}

} // namespace tdx::core
