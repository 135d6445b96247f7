// Socket plumbing for the quote channel. Plain POSIX sockets with poll()
// timeouts: the messages are one short JSON line each way, and AF_VSOCK has
// no library in Debian that would add anything. The server is deliberately
// serial (one request at a time) and rate-limited: each answer costs a
// TDX module call and a QGS round trip on the host.
#include "tdxctl/quote/channel.hpp"

#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/quote/generate.hpp"
#include "tdxctl/quote/policy.hpp"

#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tdx::quote {
namespace {

constexpr size_t max_line = 1 << 20; // a quote in base64 is ~7 KiB; 1 MiB bounds a bad peer

core::Error io_error(std::string message) {
  return core::Error{core::Category::not_ready, "quote.channel", std::move(message), {}};
}

core::Result<void> send_all(int fd, std::string_view data, int timeout_ms) {
  while (!data.empty()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return std::unexpected(io_error("timed out sending"));
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error(fmt::format("send failed: {}", strerror(errno))));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

core::Result<std::string> recv_line(int fd, int timeout_ms) {
  std::string line;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      return std::unexpected(io_error("timed out waiting for the peer's answer"));
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(io_error(fmt::format("receive failed: {}", strerror(errno))));
    if (n == 0) return std::unexpected(io_error("the peer closed the connection without an answer"));
    line.append(buf, static_cast<size_t>(n));
    if (line.size() > max_line) return std::unexpected(io_error("the peer's message exceeds 1 MiB"));
  }
  line.resize(line.find('\n'));
  return line;
}

core::Result<Socket> make_socket(int domain) {
  int fd = ::socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(io_error(fmt::format("socket() failed: {}", strerror(errno))));
  return Socket(fd);
}

core::Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return core::fail(core::Category::usage, "quote.bad_socket", fmt::format("socket path too long: {}", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

std::string answer(const core::Root& root, const std::string& request, const ServeOptions& options) {
  auto parsed = core::parse_untrusted_json(request, "request");
  if (!parsed) return nlohmann::json{{"error", parsed.error().message}}.dump();
  const auto& doc = *parsed;
  if (!doc.is_object() || !doc.contains("nonce") || !doc["nonce"].is_string())
    return nlohmann::json{{"error", "expected {\"nonce\": \"<64 hex digits>\"}"}}.dump();
  auto nonce = core::from_hex(doc["nonce"].get<std::string>(), "nonce");
  if (!nonce || nonce->size() != 32)
    return nlohmann::json{{"error", "nonce must be exactly 64 hex digits (32 bytes)"}}.dump();
  auto rd = fetch_report_data(std::span<const uint8_t, 32>(nonce->data(), 32));
  auto quote = generate_quote(root, rd, options.tsm_entry);
  if (!quote) return nlohmann::json{{"error", quote.error().message}}.dump();
  return nlohmann::json{{"quote", core::base64_encode(*quote)}}.dump();
}

} // namespace

Blob<64> fetch_report_data(std::span<const uint8_t, 32> nonce) {
  return nonce_report_data(nonce, core::as_bytes(fetch_binding_label));
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = std::exchange(o.m_fd, -1);
  }
  return *this;
}

Socket::~Socket() {
  if (m_fd >= 0) ::close(m_fd);
}

core::Result<Socket> listen_unix(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  auto s = make_socket(AF_UNIX);
  if (!s) return s;
  ::unlink(path.c_str()); // a stale socket from a previous run
  if (::bind(s->fd(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0 || ::listen(s->fd(), 4) != 0)
    return std::unexpected(io_error(fmt::format("cannot listen on {}: {}", path, strerror(errno))));
  return s;
}

static sockaddr_vm vsock_address(uint32_t cid, uint32_t port) {
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  return addr;
}

core::Result<Socket> listen_vsock(uint32_t port) {
  auto s = make_socket(AF_VSOCK);
  if (!s) return s;
  sockaddr_vm addr = vsock_address(VMADDR_CID_ANY, port);
  if (::bind(s->fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s->fd(), 4) != 0)
    return std::unexpected(io_error(fmt::format("cannot listen on vsock port {}: {}", port, strerror(errno))));
  return s;
}

core::Result<Socket> connect_unix(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  auto s = make_socket(AF_UNIX);
  if (!s) return s;
  if (::connect(s->fd(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0)
    return std::unexpected(io_error(fmt::format("cannot connect to {}: {}", path, strerror(errno))));
  return s;
}

core::Result<Socket> connect_vsock(uint32_t cid, uint32_t port) {
  auto s = make_socket(AF_VSOCK);
  if (!s) return s;
  sockaddr_vm addr = vsock_address(cid, port);
  if (::connect(s->fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return std::unexpected(io_error(fmt::format("cannot connect to vsock {}:{}: {} (is `tdxctl quote serve` "
                                                "running in the guest?)",
                                                cid, port, strerror(errno))));
  return s;
}

core::Result<void> serve_quotes(const Socket& listener, const core::Root& root, const ServeOptions& options,
                                const std::atomic<bool>* stop) {
  using clock = std::chrono::steady_clock;
  auto min_gap = std::chrono::duration<double>(options.max_per_second > 0 ? 1.0 / options.max_per_second : 0);
  auto last = clock::now() - std::chrono::hours(1);
  size_t answered = 0;
  while (!(stop && stop->load()) && (options.max_requests == 0 || answered < options.max_requests)) {
    pollfd p{listener.fd(), POLLIN, 0};
    int ready = ::poll(&p, 1, 200);
    if (ready <= 0) continue;
    int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Socket conn(fd);
    auto request = recv_line(conn.fd(), options.io_timeout_ms);
    if (!request) continue;
    std::string reply;
    auto now = clock::now();
    if (now - last < min_gap)
      reply = nlohmann::json{{"error", fmt::format("rate limited: at most {} requests per second", options.max_per_second)}}.dump();
    else {
      last = now;
      reply = answer(root, *request, options);
    }
    (void)send_all(conn.fd(), reply + "\n", options.io_timeout_ms);
    ++answered;
  }
  return {};
}

core::Result<core::Bytes> request_quote(const Socket& conn, std::span<const uint8_t, 32> nonce, int timeout_ms) {
  std::string request = nlohmann::json{{"nonce", core::to_hex(nonce)}}.dump() + "\n";
  TDX_TRY(send_all(conn.fd(), request, timeout_ms));
  auto line = recv_line(conn.fd(), timeout_ms);
  if (!line) return std::unexpected(line.error());
  auto parsed = core::parse_untrusted_json(*line, "the guest's answer");
  if (!parsed) return core::fail(core::Category::failed, "quote.bad_answer", parsed.error().message);
  const auto& doc = *parsed;
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string())
    return core::fail(core::Category::failed, "quote.guest_error", "the guest answered: " + doc["error"].get<std::string>());
  if (!doc.is_object() || !doc.contains("quote") || !doc["quote"].is_string())
    return core::fail(core::Category::failed, "quote.bad_answer", "the guest's answer is not {\"quote\": \"<base64>\"}");
  return core::base64_decode(doc["quote"].get<std::string>(), "quote from the guest");
}

} // namespace tdx::quote
