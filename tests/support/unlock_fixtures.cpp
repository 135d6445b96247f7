// Unlock test fixtures. The stub accepts any client certificate at the TLS
// layer (the real service does too: it is self-signed and ephemeral) and
// then checks the binding the protocol relies on: REPORTDATA = nonce ||
// SHA-256(SPKI of the certificate on this very connection).
// cpp-httplib.pc defines CPPHTTPLIB_OPENSSL_SUPPORT.
#include <httplib.h>

#include "support/unlock_fixtures.hpp"

#include "support/fixtures.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include <libcryptsetup.h>
#include <nlohmann/json.hpp>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace tdx::test {
namespace fs = std::filesystem;

TestPki make_test_pki(const fs::path& dir, const std::string& name) {
  core::RealRunner runner;
  TestPki pki{dir / (name + "-ca.pem"), dir / (name + "-server.pem"), dir / (name + "-server.key")};
  auto ca_key = dir / (name + "-ca.key");
  auto csr = dir / (name + "-server.csr");
  auto ext = dir / (name + "-ext.cnf");
  put(dir, ext.filename().string(), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  auto run = [&](std::vector<std::string> argv, const char* what) {
    core::run_checked(runner, core::Command{std::move(argv)}, what);
  };
  run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", ca_key.string(), "-out", pki.ca_cert.string(), "-days", "1", "-subj", "/CN=" + name + " test CA"},
      "make a test CA");
  run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       pki.server_key.string(), "-out", csr.string(), "-subj", "/CN=127.0.0.1"},
      "make a server key");
  run({"openssl", "x509", "-req", "-in", csr.string(), "-CA", pki.ca_cert.string(), "-CAkey", ca_key.string(),
       "-CAcreateserial", "-out", pki.server_cert.string(), "-days", "1", "-extfile", ext.string()},
      "sign the server certificate");
  return pki;
}

struct KeyReleaseStub::Impl {
  KeyReleaseStub* self;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mu;
  Seen seen;
};

KeyReleaseStub::KeyReleaseStub(const TestPki& pki) : m(std::make_unique<Impl>()) {
  m->self = this;
  std::string cert = pki.server_cert.string(), key_file = pki.server_key.string();
  m->server = std::make_unique<httplib::SSLServer>([cert, key_file](SSL_CTX& ctx) {
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return false;
    // Require a client certificate, accept a self-signed one.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
    return true;
  });
  if (!m->server->is_valid()) throw std::runtime_error("KeyReleaseStub: cannot set up TLS");
  Impl* impl = m.get();

  m->server->Get("/nonce", [impl](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(impl->mu);
    ++impl->seen.nonce_requests;
    if (!impl->self->nonce_bodies.empty()) {
      res.set_content(impl->self->nonce_bodies.front(), "application/json");
      impl->self->nonce_bodies.pop_front();
      return;
    }
    uint8_t n[32];
    RAND_bytes(n, sizeof n);
    auto hex = core::to_hex(n);
    impl->seen.nonces.push_back(hex);
    res.set_content(nlohmann::json{{"nonce", hex}}.dump(), "application/json");
  });

  m->server->Post("/attest", [impl](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(impl->mu);
    auto& seen = impl->seen;
    ++seen.attest_requests;
    seen.user_agent = req.get_header_value("User-Agent");
    seen.content_type = req.get_header_value("Content-Type");
    auto refuse = [&](std::string why) {
      seen.problems.push_back(why);
      res.status = 403;
      res.set_content(nlohmann::json{{"error", why}}.dump(), "application/json");
    };
    auto nonce = req.get_header_value(unlock::k_nonce_header);
    if (seen.nonces.empty() || nonce != seen.nonces.back()) return refuse("X-Chutes-Nonce is not the last nonce issued");
    X509* peer = req.ssl ? SSL_get1_peer_certificate(req.ssl) : nullptr;
    if (!peer) return refuse("no client certificate on the connection");
    seen.client_cert_seen = true;
    unsigned char* der = nullptr;
    int len = i2d_X509(peer, &der);
    X509_free(peer);
    auto spki = unlock::spki_sha256_of_cert({reinterpret_cast<char*>(der), static_cast<size_t>(len)});
    OPENSSL_free(der);
    // The request format is the library's (the one `keys serve` reads).
    auto body = unlock::parse_attest_body(req.body);
    if (!body) return refuse(body.error().message);
    if (!body->quote) return refuse("sample evidence instead of a quote");
    seen.vm_name = body->vm_name;
    seen.miner_hotkey = body->miner_hotkey;
    auto q = quote::parse_quote(*body->quote);
    if (!q || !q->td) return refuse("not a TDX quote: " + (q ? std::string("no TD report") : q.error().message));
    auto expect = core::value_or_throw(core::from_hex(nonce));
    expect.insert(expect.end(), spki->begin(), spki->end());
    if (!std::equal(expect.begin(), expect.end(), q->td->report_data.begin()))
      return refuse("REPORTDATA is not nonce || SHA-256(client SPKI)");
    seen.verified.push_back(nonce);
    auto* self = impl->self;
    if (!self->attest_statuses.empty()) {
      res.status = self->attest_statuses.front();
      self->attest_statuses.pop_front();
      res.set_content("{\"error\":\"scripted\"}", "application/json");
      return;
    }
    if (self->attest_body) {
      res.set_content(*self->attest_body, "application/json");
      return;
    }
    nlohmann::json ok{{"key", self->key}};
    if (self->boot_token) ok["boot_token"] = *self->boot_token;
    if (self->containerd_key) ok["containerd_key"] = *self->containerd_key;
    res.set_content(ok.dump(), "application/json");
  });

  m->port = m->server->bind_to_any_port("127.0.0.1");
  m->thread = std::thread([impl] { impl->server->listen_after_bind(); });
  // The socket already listens after bind; connections queue until the accept loop runs.
  while (!m->server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

KeyReleaseStub::~KeyReleaseStub() {
  m->server->stop();
  if (m->thread.joinable()) m->thread.join();
}

std::string KeyReleaseStub::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(m->port) + path;
}

KeyReleaseStub::Seen KeyReleaseStub::seen() const {
  std::lock_guard lock(m->mu);
  return m->seen;
}

TsmEmulator::TsmEmulator(const fs::path& root, const std::string& entry, core::Bytes quote)
    : m_dir(root / "sys/kernel/config/tsm/report" / entry), m_quote(std::move(quote)) {
  fs::create_directories(m_dir);
  put(m_dir, "provider", "tdx_guest\n");
  put(m_dir, "generation", "1\n");
  put(m_dir, "inblob", "");
  if (::mkfifo((m_dir / "outblob").c_str(), 0600) != 0) throw std::runtime_error("mkfifo outblob failed");
  m_thread = std::thread([this] {
    auto out = m_dir / "outblob";
    std::string last;
    while (true) {
      // One quote per inblob write, as the kernel does: a FIFO that the
      // reader still holds open would otherwise take a second copy.
      std::string in;
      while (!m_stop) {
        auto now = core::read_file(m_dir / "inblob");
        if (now && now->size() == 64 && *now != last) {
          in = *now;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (m_stop) return;
      last = in;
      int fd = ::open(out.c_str(), O_WRONLY | O_CLOEXEC); // blocks until a reader opens it
      if (fd < 0 || m_stop) {
        if (fd >= 0) ::close(fd);
        return;
      }
      core::Bytes q = m_quote;
      // TD report body offset 520 (REPORTDATA) after the 48-byte v4 header.
      std::memcpy(q.data() + 48 + 520, in.data(), std::min<size_t>(in.size(), 64));
      size_t off = 0;
      while (off < q.size()) {
        ssize_t n = ::write(fd, q.data() + off, q.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(fd);
      ++m_served;
    }
  });
}

TsmEmulator::~TsmEmulator() {
  m_stop = true;
  // Opening the read side releases the writer blocked in open().
  int fd = ::open((m_dir / "outblob").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  m_thread.join();
  if (fd >= 0) ::close(fd);
}

core::Completed run_with_system_ca(const fs::path& ca_pem, const std::vector<std::string>& argv,
                                   const fs::path& scratch) {
  auto dir = scratch / "system-certs";
  fs::create_directories(dir);
  fs::copy_file(ca_pem, dir / "extra-ca.pem", fs::copy_options::overwrite_existing);
  core::RealRunner runner;
  core::run_checked(runner, core::Command{{"openssl", "rehash", dir.string()}}, "hash the system CA directory");
  fs::copy_file(ca_pem, dir / "ca-certificates.crt", fs::copy_options::overwrite_existing);
  // unshare --mount makes the namespace's mounts private: the bind mount
  // never shows outside this one process tree.
  core::Command cmd{{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                     "mount --bind \"$0\" /etc/ssl/certs && exec \"$@\"", dir.string()}};
  cmd.argv.insert(cmd.argv.end(), argv.begin(), argv.end());
  auto r = runner.run(cmd);
  if (!r) throw std::runtime_error("cannot run " + argv.front() + ": " + r.error().message);
  return *r;
}

core::Bytes sample_quote() {
  auto raw = core::value_or_throw(core::read_file(testdata() / "quotes/tdx-v4-b0c06f-uptodate/quote.bin"));
  return core::Bytes(raw.begin(), raw.end());
}

core::Bytes with_mr_config_id(core::Bytes quote, const core::Bytes& value) {
  if (value.size() != 48 || quote.size() < k_quote_mr_config_id + 48)
    throw std::runtime_error("with_mr_config_id: need 48 bytes and a v4 quote");
  std::memcpy(quote.data() + k_quote_mr_config_id, value.data(), 48);
  return quote;
}

void set_mr_config_id(const fs::path& root, const core::Bytes& value) {
  put(root, "sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid", std::string(value.begin(), value.end()));
}

core::Bytes manifest_digest(const fs::path& dir, const std::string& label) {
  auto sha384 = [](std::string_view data) {
    core::Bytes md(SHA384_DIGEST_LENGTH);
    SHA384(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
    return md;
  };
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && !e.is_symlink()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string manifest = "tdxctl.volume.config-manifest/1\nlabel " + label + "\n";
  for (const auto& f : files) {
    auto content = core::value_or_throw(core::read_file(f));
    auto mode = static_cast<unsigned>(fs::status(f).permissions()) & 07777;
    manifest += fmt::format("{:04o} {} {} /{}\n", mode, content.size(), core::to_hex(sha384(content)),
                            f.filename().string());
  }
  return sha384(manifest);
}

core::Bytes bind_config_volume(const fs::path& root) {
  auto digest = manifest_digest(root / "run/tdx-config");
  set_mr_config_id(root, digest);
  return digest;
}

fs::path make_luks_device(const fs::path& root, const std::string& uuid, const std::string& key) {
  fs::create_directories(root / "dev/disk/by-uuid");
  auto dev = root / "dev/vdb2";
  {
    int fd = ::open(dev.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, 32 << 20) != 0) throw std::runtime_error("cannot create " + dev.string());
    ::close(fd);
  }
  crypt_device* cd = nullptr;
  if (crypt_init(&cd, dev.c_str()) < 0) throw std::runtime_error("crypt_init failed");
  crypt_pbkdf_type pbkdf{};
  pbkdf.type = CRYPT_KDF_PBKDF2;
  pbkdf.hash = "sha256";
  pbkdf.iterations = 1000;
  pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
  crypt_params_luks2 params{};
  params.sector_size = 4096;
  params.pbkdf = &pbkdf;
  int rc = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", uuid.c_str(), nullptr, 64, &params);
  if (rc == 0) rc = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, nullptr, 0, key.data(), key.size());
  crypt_free(cd);
  if (rc < 0) throw std::runtime_error("formatting the test LUKS2 header failed: " + std::string(strerror(-rc)));
  fs::create_symlink("../../vdb2", root / "dev/disk/by-uuid" / uuid);
  return dev;
}

} // namespace tdx::test
