#pragma once
// The HTTPS face of `tdxctl keys serve` (cpp-httplib): GET /nonce and POST
// /attest, as tdxctl-unlock(1) PROTOCOL describes. TLS requests a client
// certificate and accepts any (the guest's is ephemeral and self-signed);
// what makes it count is the binding KeyService checks, for which this layer
// hands over the SHA-256 of the SPKI of the certificate on the very
// connection that carried the request. Each decision is one JSON line.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/keys/key_service.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tdx::keys {

inline constexpr const char* k_nonce_path = "/nonce";
inline constexpr const char* k_attest_path = "/attest";
inline constexpr size_t k_max_request_bytes = 256 * 1024; // a quote is at most a few KiB

struct ListenAddress {
  std::string host; // an address, not a name: 0.0.0.0, 10.0.0.1, ::, ::1
  int port = 0;     // 0: any free port (tests)
  std::string to_string() const;
};
// "ADDR:PORT" or "[V6ADDR]:PORT"; invalid_input naming the text otherwise.
core::Result<ListenAddress> parse_listen_address(std::string_view text);

using LogSink = std::function<void(const core::Json&)>;
// One line on stdout, flushed (journald keeps it), invalid UTF-8 replaced.
void log_to_stdout(const core::Json& line);

class KeyServer {
public:
  // Loads the certificate chain and key; Failure(invalid_input) naming the file.
  KeyServer(KeyService& service, const std::filesystem::path& cert, const std::filesystem::path& key,
            LogSink log = log_to_stdout);
  ~KeyServer();
  KeyServer(const KeyServer&) = delete;
  KeyServer& operator=(const KeyServer&) = delete;

  // Binds; returns the port (the chosen one when it was 0). Failure when it cannot.
  int bind(const ListenAddress& address);
  // Serves until stop() (from another thread).
  void run();
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

// Blocks SIGINT and SIGTERM, runs the server and stops it when one arrives.
void serve_until_signal(KeyServer& server);

} // namespace tdx::keys
