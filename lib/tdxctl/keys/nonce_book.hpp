#pragma once
// The nonces `keys serve` has issued and not yet seen used: each is good for
// one attestation within its lifetime. The book is bounded: expired nonces
// are dropped as new ones are issued, and when it is full of live ones the
// oldest is forgotten (its holder gets 403 and retries with a fresh nonce,
// which the unlock client does anyway), so a flood of GETs cannot grow memory.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tdx::keys {

using Clock = std::chrono::steady_clock;

// Where nonces come from: OpenSSL's RAND_bytes unless a test injects one
// (a recorded quote can only be bound to the nonce it was made for).
using NonceSource = std::function<std::array<uint8_t, 32>()>;

enum class NonceCheck { ok, unknown, expired };
const char* to_string(NonceCheck check);

class NonceBook {
public:
  NonceBook(std::chrono::seconds ttl, size_t capacity, NonceSource source = {});
  // A fresh nonce (64 lowercase hex digits).
  std::string issue(Clock::time_point now);
  // Removes the nonce (single use, whatever the outcome) and says whether it was live.
  NonceCheck consume(std::string_view nonce_hex, Clock::time_point now);
  std::chrono::seconds ttl() const { return m_ttl; }
  size_t live() const;

private:
  void drop_expired(Clock::time_point now);
  std::chrono::seconds m_ttl;
  size_t m_capacity;
  NonceSource m_source;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, Clock::time_point> m_expiry;
  std::deque<std::pair<std::string, Clock::time_point>> m_order; // issue order; may hold consumed ones
};

} // namespace tdx::keys
