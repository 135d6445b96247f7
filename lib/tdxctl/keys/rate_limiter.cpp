#include "tdxctl/keys/rate_limiter.hpp"

#include <algorithm>

namespace tdx::keys {

RateLimiter::RateLimiter(double per_second, double burst, size_t max_clients)
    : m_rate(per_second), m_burst(std::max(burst, 1.0)), m_max_clients(std::max<size_t>(max_clients, 1)) {}

double RateLimiter::level(const Bucket& b, std::chrono::steady_clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  return std::min(m_burst, b.tokens + std::max(elapsed, 0.0) * m_rate);
}

bool RateLimiter::allow(const std::string& client, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(m_mutex);
  auto it = m_buckets.find(client);
  if (it == m_buckets.end()) {
    if (m_buckets.size() >= m_max_clients)
      std::erase_if(m_buckets, [&](const auto& kv) { return level(kv.second, now) >= m_burst; });
    if (m_buckets.size() >= m_max_clients) return false;
    it = m_buckets.emplace(client, Bucket{m_burst, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = level(b, now);
  b.last = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

} // namespace tdx::keys
