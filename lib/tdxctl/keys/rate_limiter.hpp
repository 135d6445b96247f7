#pragma once
// Per-client token buckets for `keys serve`: each client address may make
// `burst` requests at once and `per_second` on average. The table of clients
// is bounded: buckets that have refilled completely carry no state worth
// keeping and are dropped; when the table is still full, new addresses are
// refused (answered 429) rather than let an address flood grow memory.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tdx::keys {

class RateLimiter {
public:
  RateLimiter(double per_second, double burst, size_t max_clients = 65536);
  // Takes one token from `client`'s bucket; false when it has none.
  bool allow(const std::string& client, std::chrono::steady_clock::time_point now);

private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  double level(const Bucket& b, std::chrono::steady_clock::time_point now) const;
  double m_rate, m_burst;
  size_t m_max_clients;
  std::mutex m_mutex;
  std::unordered_map<std::string, Bucket> m_buckets;
};

} // namespace tdx::keys
