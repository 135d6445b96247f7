#include "tdxctl/keys/nonce_book.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/random.hpp"


namespace tdx::keys {

const char* to_string(NonceCheck check) {
  switch (check) {
  case NonceCheck::ok: return "ok";
  case NonceCheck::unknown: return "not issued by this service, or already used";
  case NonceCheck::expired: return "expired";
  }
  return "?";
}

NonceBook::NonceBook(std::chrono::seconds ttl, size_t capacity, NonceSource source)
    : m_ttl(ttl), m_capacity(capacity == 0 ? 1 : capacity), m_source(source ? std::move(source) : [] { return core::value_or_throw(core::random_nonce()); }) {}

void NonceBook::drop_expired(Clock::time_point now) {
  while (!m_order.empty() && m_order.front().second <= now) {
    auto it = m_expiry.find(m_order.front().first);
    if (it != m_expiry.end() && it->second == m_order.front().second) m_expiry.erase(it);
    m_order.pop_front();
  }
}

std::string NonceBook::issue(Clock::time_point now) {
  auto hex = core::to_hex(m_source());
  std::lock_guard lock(m_mutex);
  drop_expired(now);
  while (m_expiry.size() >= m_capacity && !m_order.empty()) {
    auto it = m_expiry.find(m_order.front().first);
    if (it != m_expiry.end() && it->second == m_order.front().second) m_expiry.erase(it);
    m_order.pop_front();
  }
  auto expires = now + m_ttl;
  m_expiry[hex] = expires;
  m_order.emplace_back(hex, expires);
  return hex;
}

NonceCheck NonceBook::consume(std::string_view nonce_hex, Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  auto it = m_expiry.find(std::string(nonce_hex));
  if (it == m_expiry.end()) return NonceCheck::unknown;
  bool live = it->second > now;
  m_expiry.erase(it);
  return live ? NonceCheck::ok : NonceCheck::expired;
}

size_t NonceBook::live() const {
  std::lock_guard lock(m_mutex);
  return m_expiry.size();
}

} // namespace tdx::keys
