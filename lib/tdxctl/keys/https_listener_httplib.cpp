// The tdxctl-https.so plug-in: keys/https_listener.hpp on cpp-httplib
// (whose .pc defines CPPHTTPLIB_OPENSSL_SUPPORT). Built as a module of its
// own and linked against nothing of tdxctl; see the header for why.
#include <httplib.h>

#include "tdxctl/keys/https_listener.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

namespace tdx::keys::https {
namespace {

void answer(const Response& r, httplib::Response& res) {
  res.status = r.status;
  if (r.body.empty()) return;
  // The provider keeps the owner alive until the body is written.
  res.set_content_provider(r.body.size(), "application/json",
                           [r](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(r.body.data() + offset, length);
                           });
}

// `nonce` and `peer_der` hold what the Request views.
Request request_of(const httplib::Request& req, const std::string& nonce_header, std::string& nonce,
                   std::string& peer_der) {
  nonce = req.get_header_value(nonce_header);
  peer_der.clear();
  if (X509* peer = req.ssl ? SSL_get1_peer_certificate(req.ssl) : nullptr) {
    unsigned char* der = nullptr;
    int len = i2d_X509(peer, &der);
    X509_free(peer);
    if (len > 0) peer_der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  return Request{req.remote_addr, req.method, req.body, nonce, peer_der};
}

class HttplibListener final : public Listener {
public:
  HttplibListener(const Settings& s, std::string& problem)
      : m_server([&](SSL_CTX& ctx) {
          SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
          if (SSL_CTX_use_certificate_chain_file(&ctx, s.cert.c_str()) != 1) {
            problem = "--cert " + s.cert + ": not a readable PEM certificate (chain)";
            return false;
          }
          if (SSL_CTX_use_PrivateKey_file(&ctx, s.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
              SSL_CTX_check_private_key(&ctx) != 1) {
            problem = "--key " + s.key + ": not a readable PEM private key matching --cert " + s.cert;
            return false;
          }
          // Ask for a client certificate and take any: the guest's is
          // self-signed and made for this boot; tdxctl binds it through the
          // quote.
          SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
          return true;
        }) {
    if (!m_server.is_valid()) return;
    // httplib's default adds SO_REUSEPORT, which lets a second process bind
    // the same port and take a share of the key-release connections (and
    // hides "port in use"): SO_REUSEADDR only.
    m_server.set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    m_server.set_payload_max_length(s.max_request_bytes);
    m_server.set_read_timeout(s.read_timeout);
    auto route = [header = s.nonce_header](Handler handler) {
      return [header, handler](const httplib::Request& req, httplib::Response& res) {
        std::string nonce, peer_der;
        answer(handler(request_of(req, header, nonce, peer_der)), res);
      };
    };
    m_server.Get(s.nonce_path, route(s.nonce));
    m_server.Post(s.attest_path, route(s.attest));
  }

  bool valid() const { return m_server.is_valid(); }

  int bind(const std::string& host, int port) override {
    errno = 0;
    if (port == 0) {
      int chosen = m_server.bind_to_any_port(host);
      return chosen > 0 ? chosen : -(errno ? errno : EADDRNOTAVAIL);
    }
    return m_server.bind_to_port(host, port) ? port : -(errno ? errno : EADDRNOTAVAIL);
  }
  void run() override { m_server.listen_after_bind(); }
  void stop() override { m_server.stop(); }

private:
  httplib::SSLServer m_server;
};

} // namespace
} // namespace tdx::keys::https

extern "C" __attribute__((visibility("default"))) tdx::keys::https::Listener*
tdxctl_https_listener_open_v2(const tdx::keys::https::Settings& settings, std::string* problem) {
  try {
    auto listener = std::make_unique<tdx::keys::https::HttplibListener>(settings, *problem);
    if (!listener->valid()) {
      if (problem->empty()) *problem = "cannot set up TLS";
      return nullptr;
    }
    return listener.release();
  } catch (const std::exception& e) {
    *problem = e.what();
    return nullptr;
  }
}

static_assert(std::is_same_v<decltype(tdxctl_https_listener_open_v2), tdx::keys::https::OpenFn>);
