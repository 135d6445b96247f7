#pragma once
// The host<->guest quote channel of `quote serve` / `quote fetch`: one JSON
// line each way over a stream socket (AF_VSOCK in production, AF_UNIX in
// tests and for local use; the transport is only how the fd is opened).
//
//   request:  {"nonce": "<64 hex digits>"}\n
//   response: {"quote": "<base64>"}\n   or   {"error": "<message>"}\n
//
// The guest binds REPORTDATA = SHA-512(nonce || "tdxctl-fetch"), so a quote
// fetched this way cannot be replayed for another nonce or another purpose.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/quote/quote.hpp"

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

namespace tdx::quote {

inline constexpr std::string_view fetch_binding_label = "tdxctl-fetch";
Blob<64> fetch_report_data(std::span<const uint8_t, 32> nonce);

// An owned socket fd.
class Socket {
public:
  Socket() = default;
  explicit Socket(int fd) : m_fd(fd) {}
  Socket(Socket&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Socket& operator=(Socket&& o) noexcept;
  ~Socket();
  int fd() const { return m_fd; }

private:
  int m_fd = -1;
};

core::Result<Socket> listen_unix(const std::string& path);
core::Result<Socket> listen_vsock(uint32_t port);
core::Result<Socket> connect_unix(const std::string& path);
core::Result<Socket> connect_vsock(uint32_t cid, uint32_t port);

struct ServeOptions {
  double max_per_second = 2.0; // requests over this rate get an error answer
  size_t max_requests = 0;     // stop after this many answers (0: run until stopped)
  int io_timeout_ms = 5000;
  std::string tsm_entry;       // configfs-tsm entry name (empty: private per request)
};

// Answers requests one at a time until `stop` is set or max_requests reached.
core::Result<void> serve_quotes(const Socket& listener, const core::Root& root,
                                const ServeOptions& options, const std::atomic<bool>* stop = nullptr);

// Sends the nonce and returns the quote bytes the guest answered.
core::Result<core::Bytes> request_quote(const Socket& conn, std::span<const uint8_t, 32> nonce,
                                        int timeout_ms = 30000);

} // namespace tdx::quote
