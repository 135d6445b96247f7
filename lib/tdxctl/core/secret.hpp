#pragma once
// Secrets (LUKS passphrases, the miner seed, unlock keys). They come from a
// file, stdin ("-") or an environment variable, never from argv; they are
// wiped with OPENSSL_cleanse when dropped, cannot be copied, and have no
// formatter, so printing one is a compile error.

#include "tdxctl/core/error.hpp"

#include <string>
#include <string_view>

namespace tdx::core {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;

  // From a file path, or "-" for stdin. A single trailing newline is dropped.
  static Result<Secret> from_file(const std::string& path, std::string_view what);
  static Result<Secret> from_env(const char* name, std::string_view what);

  std::string_view reveal() const { return m_value; }
  size_t size() const { return m_value.size(); }
  bool empty() const { return m_value.empty(); }

private:
  void wipe();
  std::string m_value;
};

} // namespace tdx::core
