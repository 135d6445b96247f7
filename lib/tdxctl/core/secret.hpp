#pragma once
// Secrets (LUKS passphrases, the miner seed, unlock keys). They come from a
// file, stdin ("-") or an environment variable, never from argv; they cannot
// be copied and have no formatter, so printing one is a compile error.
//
// The bytes live in their own locked pages (mlock: never swapped; excluded
// from core dumps; zeroed in a forked child) and are wiped with
// OPENSSL_cleanse when dropped. Holding one makes the process non-dumpable
// for the rest of its life (no core file, no same-user ptrace or
// /proc/PID/mem), because freed copies elsewhere cannot all be tracked.

#include "tdxctl/core/error.hpp"

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tdx::core {

// The environment variables that carry secrets: Secret::from_env wipes and
// unsets them once read, and the process runner never passes them to a child.
inline constexpr const char* k_miner_seed_env = "TDXCTL_MINER_SEED";
inline constexpr std::array<std::string_view, 1> k_secret_env_vars{k_miner_seed_env};
// Whether a "NAME=value" environment entry is one of them.
bool is_secret_env_entry(std::string_view entry);

// The largest secret read from a file or stdin (keys and seeds are far smaller).
inline constexpr size_t k_max_secret_bytes = 1u << 20;

class Secret {
public:
  Secret() = default;
  // Copies `value` into locked memory and wipes `value`'s bytes.
  explicit Secret(std::string value);
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;

  // The parts joined, with no intermediate copy outside locked memory.
  static Secret concat(std::initializer_list<std::string_view> parts);

  // From a file path, or "-" for stdin. A single trailing newline is dropped.
  static Result<Secret> from_file(const std::string& path, std::string_view what);
  // The rest of an open file (the caller opened it, e.g. with O_NOFOLLOW
  // relative to a directory fd, and closes it); `name` is for messages.
  static Result<Secret> from_fd(int fd, const std::string& name, std::string_view what);
  // The variable's value; its bytes in the environment are then wiped and the
  // variable unset, so neither /proc/PID/environ nor a child sees it.
  static Result<Secret> from_env(const char* name, std::string_view what);

  std::string_view reveal() const { return {m_data, m_size}; }
  size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }

private:
  explicit Secret(size_t capacity);
  void drop_newline();
  void release() noexcept;
  char* m_data = nullptr;
  size_t m_size = 0;
  size_t m_capacity = 0; // bytes mapped (whole pages)
};

} // namespace tdx::core
