// cpp-httplib.pc defines CPPHTTPLIB_OPENSSL_SUPPORT.
#include <httplib.h>

#include "tdxctl/keys/server.hpp"

#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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

struct KeyServer::Impl {
  KeyService* service;
  LogSink log;
  std::unique_ptr<httplib::SSLServer> server;

  void answer(const Decision& d, const httplib::Request& req, httplib::Response& res) {
    log(service->log_line(d, req.remote_addr, req.method));
    res.status = d.status;
    if (!d.body) return;
    // Served straight from the Secret's locked pages: the key is never
    // copied into the response's std::string.
    auto body = d.body;
    res.set_content_provider(body->size(), "application/json",
                             [body](size_t offset, size_t length, httplib::DataSink& sink) {
                               return sink.write(body->reveal().data() + offset, length);
                             });
  }

  void internal_error(const std::string& why, const httplib::Request& req, httplib::Response& res) {
    Decision d;
    d.status = 500;
    d.decision = "refuse";
    d.check = "internal";
    d.reason = why;
    d.body = std::make_shared<const core::Secret>(std::string("{\"error\":\"internal error\"}"));
    answer(d, req, res);
  }
};

namespace {

std::optional<std::array<uint8_t, 32>> peer_spki_sha256(const SSL* ssl) {
  X509* peer = ssl ? SSL_get1_peer_certificate(ssl) : nullptr;
  if (!peer) return std::nullopt;
  unsigned char* der = nullptr;
  int len = i2d_X509(peer, &der);
  X509_free(peer);
  if (len <= 0) return std::nullopt;
  auto spki = unlock::spki_sha256_of_cert({reinterpret_cast<char*>(der), static_cast<size_t>(len)});
  OPENSSL_free(der);
  if (!spki) return std::nullopt;
  return *spki;
}

} // namespace

KeyServer::KeyServer(KeyService& service, const std::filesystem::path& cert, const std::filesystem::path& key,
                     LogSink log)
    : m(std::make_unique<Impl>()) {
  m->service = &service;
  m->log = std::move(log);
  std::string problem;
  std::string cert_s = cert.string(), key_s = key.string();
  m->server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert_s.c_str()) != 1) {
      problem = fmt::format("--cert {}: not a readable PEM certificate (chain)", cert_s);
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(&ctx, key_s.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
      problem = fmt::format("--key {}: not a readable PEM private key matching --cert {}", key_s, cert_s);
      return false;
    }
    // Ask for a client certificate and take any: the guest's is self-signed
    // and made for this boot; KeyService binds it through the quote.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    return true;
  });
  if (!m->server->is_valid())
    throw Failure(Category::invalid_input, "keys.tls", problem.empty() ? "cannot set up TLS" : problem,
                  "give the service's certificate and key as PEM files (--cert, --key)");
  m->server->set_payload_max_length(k_max_request_bytes);
  m->server->set_read_timeout(std::chrono::seconds(30));
  Impl* impl = m.get();
  m->server->Get(k_nonce_path, [impl](const httplib::Request& req, httplib::Response& res) {
    try {
      impl->answer(impl->service->nonce(req.remote_addr), req, res);
    } catch (const std::exception& e) {
      impl->internal_error(e.what(), req, res);
    }
  });
  m->server->Post(k_attest_path, [impl](const httplib::Request& req, httplib::Response& res) {
    try {
      AttestRequest r{req.remote_addr, req.get_header_value(unlock::k_nonce_header), req.body,
                      peer_spki_sha256(req.ssl)};
      impl->answer(impl->service->attest(r), req, res);
    } catch (const std::exception& e) {
      impl->internal_error(e.what(), req, res);
    }
  });
}

KeyServer::~KeyServer() { stop(); }

int KeyServer::bind(const ListenAddress& a) {
  int port = a.port;
  bool ok = a.port == 0 ? (port = m->server->bind_to_any_port(a.host)) > 0 : m->server->bind_to_port(a.host, a.port);
  if (!ok)
    throw Failure(Category::not_ready, "keys.bind",
                  fmt::format("cannot listen on {}: {}", a.to_string(), std::strerror(errno)),
                  "is the address configured on this host, and the port free (ss -ltnp)?");
  return port;
}

void KeyServer::run() { m->server->listen_after_bind(); }

void KeyServer::stop() {
  if (m && m->server) m->server->stop();
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
