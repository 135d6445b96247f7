#include "tdxctl/keys/server.hpp"

#include "tdxctl/core/shared_library.hpp"
#include "tdxctl/keys/https_listener.hpp"

#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <charconv>
#include <csignal>
#include <cstring>
#include <iostream>
#include <mutex>
#include <pthread.h>
#include <thread>

namespace tdx::keys {

using core::Category;
using core::Failure;

std::string ListenAddress::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

core::Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto bad = [&] {
    return core::fail(Category::invalid_input, "keys.listen",
                      fmt::format("--listen '{}' is not ADDRESS:PORT (e.g. 0.0.0.0:8443 or [::]:8443; an IP "
                                  "address, port 1-65535)",
                                  text));
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string host(text.substr(0, colon));
  auto port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned char buf[sizeof(in6_addr)];
  bool ip = ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
  int port = -1;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!ip || ec != std::errc() || p != port_text.data() + port_text.size() || port < 0 || port > 65535) return bad();
  return ListenAddress{host, port};
}

void log_to_stdout(const core::Json& line) {
  static std::mutex mu;
  auto text = line.dump(-1, ' ', false, core::Json::error_handler_t::replace);
  std::lock_guard lock(mu);
  std::cout << text << std::endl;
}

namespace {

std::optional<std::array<uint8_t, 32>> peer_spki_sha256(std::string_view der) {
  if (der.empty()) return std::nullopt;
  auto spki = unlock::spki_sha256_of_cert(der);
  if (!spki) return std::nullopt;
  return *spki;
}

struct Plugin {
  https::OpenFn* open = nullptr;
};

// tdxctl-https.so by absolute path: the build tree's for a binary that runs
// from it (tdxctl, the test programs), the package's private directory
// otherwise. No search path: LD_LIBRARY_PATH or the current directory never
// supply the code that holds the keys.
std::string plugin_path() {
  std::error_code ec;
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const std::string build = TDXCTL_BUILD_DIR "/";
  const std::string dir = !ec && exe.starts_with(build) ? TDXCTL_BUILD_DIR : TDXCTL_PLUGIN_DIR;
  return dir + "/" + https::k_plugin;
}

const Plugin& plugin() {
  static const std::string path = plugin_path();
  return core::lazy_api<Plugin>(path.c_str(), "tdxctl", [](core::SharedLibrary& library, Plugin& table) {
    core::resolve(library, table.open, https::k_open_symbol);
  });
}

} // namespace

struct KeyServer::Impl {
  KeyService* service;
  LogSink log;
  std::unique_ptr<https::Listener> listener;

  https::Response answer(const Decision& d, const https::Request& req) {
    log(service->log_line(d, std::string(req.remote_addr), std::string(req.method)));
    https::Response res;
    res.status = d.status;
    // Served straight from the Secret's locked pages: the key is never
    // copied into a std::string.
    if (d.body) {
      res.body = d.body->reveal();
      res.owner = d.body;
    }
    return res;
  }

  https::Response internal_error(const std::string& why, const https::Request& req) {
    Decision d;
    d.status = 500;
    d.decision = "refuse";
    d.check = "internal";
    d.reason = why;
    d.body = std::make_shared<const core::Secret>(std::string("{\"error\":\"internal error\"}"));
    return answer(d, req);
  }

  // Every answer, an error included, is a decision logged as one line.
  https::Handler guarded(std::function<Decision(const https::Request&)> decide) {
    return [this, decide](const https::Request& req) {
      try {
        return answer(decide(req), req);
      } catch (const std::exception& e) {
        return internal_error(e.what(), req);
      }
    };
  }
};

KeyServer::KeyServer(KeyService& service, const std::filesystem::path& cert, const std::filesystem::path& key,
                     LogSink log)
    : m(std::make_unique<Impl>()) {
  m->service = &service;
  m->log = std::move(log);
  https::Settings s;
  s.cert = cert.string();
  s.key = key.string();
  s.max_request_bytes = k_max_request_bytes;
  s.read_timeout = std::chrono::seconds(30);
  s.nonce_path = k_nonce_path;
  s.attest_path = k_attest_path;
  s.nonce_header = unlock::k_nonce_header;
  s.nonce = m->guarded([&service](const https::Request& req) { return service.nonce(std::string(req.remote_addr)); });
  s.attest = m->guarded([&service](const https::Request& req) {
    AttestRequest r{std::string(req.remote_addr), std::string(req.nonce_header), std::string(req.body),
                    peer_spki_sha256(req.peer_cert_der)};
    return service.attest(r);
  });
  std::string problem;
  m->listener.reset(plugin().open(s, &problem));
  if (!m->listener)
    throw Failure(Category::invalid_input, "keys.tls", problem.empty() ? "cannot set up TLS" : problem,
                  "give the service's certificate and key as PEM files (--cert, --key)");
}

KeyServer::~KeyServer() { stop(); }

int KeyServer::bind(const ListenAddress& a) {
  int port = m->listener->bind(a.host, a.port);
  if (port < 0)
    throw Failure(Category::not_ready, "keys.bind",
                  fmt::format("cannot listen on {}: {}", a.to_string(), std::strerror(-port)),
                  "is the address configured on this host, and the port free (ss -ltnp)?");
  return port;
}

void KeyServer::run() { m->listener->run(); }

void KeyServer::stop() {
  if (m && m->listener) m->listener->stop();
}

void serve_until_signal(KeyServer& server) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // Blocked before the worker threads start, so they inherit the mask and
  // only the waiter below ever sees the signal.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread waiter([&server, set] {
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  });
  server.run();
  // run() also returns when the listener fails; wake the waiter then.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
}

} // namespace tdx::keys
