#pragma once
// The HTTPS listener of `keys serve`, built as a plug-in (tdxctl-https.so,
// installed in /usr/lib/<triplet>/tdxctl) that only `keys serve` opens. cpp-httplib is a shared library whose
// constructor loads every OpenSSL error string, and it brings zlib and three
// brotli libraries: mapping them cost every other command ~3.4 ms of its
// start-up (a third of `tdxctl --version`). The plug-in holds only the HTTP
// and TLS plumbing; what to answer is decided in tdxctl (keys/server.cpp)
// through the two handlers, so this interface uses standard types alone and
// the plug-in links nothing of tdxctl. Both sides are built from one tree by
// one compiler, so the C++ types may cross the boundary.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tdx::keys::https {

struct Request {
  std::string_view remote_addr, method, body;
  std::string_view nonce_header; // the value of Settings::nonce_header, empty when absent
  // The client certificate's DER, empty when it sent none. Taken from the
  // connection here, so that tdxctl itself never links libssl (loading it
  // cost every command's start-up ~0.6 M instructions of symbol binding).
  std::string_view peer_cert_der;
};

struct Response {
  int status = 500;
  // The body is served straight from owner's memory (a core::Secret's locked
  // pages): never copied into a std::string. Empty: no body.
  std::shared_ptr<const void> owner;
  std::string_view body;
};

using Handler = std::function<Response(const Request&)>;

struct Settings {
  std::string cert, key; // PEM files: the certificate chain and its key
  size_t max_request_bytes = 0;
  std::chrono::seconds read_timeout{30};
  std::string nonce_path, attest_path, nonce_header;
  Handler nonce, attest; // GET nonce_path, POST attest_path
};

class Listener {
public:
  virtual ~Listener() = default;
  // Binds; the port (the chosen one when port is 0), or -errno.
  virtual int bind(const std::string& host, int port) = 0;
  // Serves until stop() (from another thread) or the listener fails.
  virtual void run() = 0;
  virtual void stop() = 0;
};

// The plug-in's one export: a listener set up with settings (TLS 1.2 or
// later, a client certificate requested and any accepted), or null with what
// went wrong in *problem.
using OpenFn = Listener*(const Settings& settings, std::string* problem);
inline constexpr const char* k_plugin = "tdxctl-https.so";
// Versioned: a change to these types renames it, so a stale plug-in fails to
// load instead of being called with another layout.
inline constexpr const char* k_open_symbol = "tdxctl_https_listener_open_v2";

} // namespace tdx::keys::https
