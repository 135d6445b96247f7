// Nonces are single-use and expire; the book and the rate limiter stay
// bounded. Time is passed in, so nothing here waits or depends on speed.
#include "tdxctl/keys/nonce_book.hpp"
#include "tdxctl/keys/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace tdx;
using namespace std::chrono_literals;

TEST_CASE("a nonce is good once, within its lifetime", "[keys]") {
  keys::NonceBook book(120s, 16);
  auto t0 = keys::Clock::now();
  auto a = book.issue(t0);
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(book.consume(a, t0 + 1s) == keys::NonceCheck::ok);
  CHECK(book.consume(a, t0 + 2s) == keys::NonceCheck::unknown); // used
  auto b = book.issue(t0);
  CHECK(book.consume(b, t0 + 121s) == keys::NonceCheck::expired);
  CHECK(book.consume(b, t0 + 1s) == keys::NonceCheck::unknown); // consumed by the late attempt
  CHECK(book.consume(std::string(64, '0'), t0) == keys::NonceCheck::unknown);
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) seen.insert(book.issue(t0));
  CHECK(seen.size() == 8);
}

TEST_CASE("the nonce book is bounded: expired ones go first, then the oldest", "[keys]") {
  int n = 0;
  keys::NonceBook book(60s, 3, [&n] {
    std::array<uint8_t, 32> a{};
    a[0] = static_cast<uint8_t>(++n);
    return a;
  });
  auto t0 = keys::Clock::now();
  auto first = book.issue(t0);
  auto second = book.issue(t0 + 1s);
  book.issue(t0 + 2s);
  book.issue(t0 + 3s); // full: the oldest is forgotten
  CHECK(book.live() == 3);
  CHECK(book.consume(first, t0 + 4s) == keys::NonceCheck::unknown);
  CHECK(book.consume(second, t0 + 4s) == keys::NonceCheck::ok);
  book.issue(t0 + 100s); // the rest have expired by now
  CHECK(book.live() == 1);
}

TEST_CASE("each client address gets its own token bucket", "[keys]") {
  keys::RateLimiter limiter(0.5, 2, 2);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(limiter.allow("10.0.0.1", t0));
  CHECK(limiter.allow("10.0.0.1", t0));
  CHECK_FALSE(limiter.allow("10.0.0.1", t0)); // burst spent
  CHECK(limiter.allow("10.0.0.2", t0)); // another client is not affected
  CHECK(limiter.allow("10.0.0.2", t0));
  CHECK_FALSE(limiter.allow("10.0.0.1", t0 + 1s));
  CHECK(limiter.allow("10.0.0.1", t0 + 2s)); // one token after 2 s at 0.5/s
  // The table holds two clients; a third is refused while both are active...
  CHECK_FALSE(limiter.allow("10.0.0.3", t0 + 2s));
  // ...and admitted once a bucket has refilled (it carries no state then).
  CHECK(limiter.allow("10.0.0.3", t0 + 60s));
}
