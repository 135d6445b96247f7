#pragma once
// Fixtures for the unlock tests: a key-release stand-in (cpp-httplib
// SSLServer on 127.0.0.1 with a test CA made here, requiring a client
// certificate) that checks quotes the way a key service must, an emulated
// configfs-tsm entry whose quote carries the REPORTDATA written to inblob,
// and a LUKS2 header made with libcryptsetup.

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/runner.hpp"

#include <atomic>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tdx::test {

// A CA and a server certificate for 127.0.0.1 signed by it, as PEM files in `dir`.
struct TestPki {
  std::filesystem::path ca_cert, server_cert, server_key;
};
TestPki make_test_pki(const std::filesystem::path& dir, const std::string& name);

class KeyReleaseStub {
public:
  // Serves GET /nonce and POST /attest over mTLS on 127.0.0.1 (random port).
  explicit KeyReleaseStub(const TestPki& pki);
  ~KeyReleaseStub();
  KeyReleaseStub(const KeyReleaseStub&) = delete;
  KeyReleaseStub& operator=(const KeyReleaseStub&) = delete;

  std::string url(const std::string& path) const;

  // Behaviour (set before the client runs).
  std::string key = "correct horse battery staple";
  std::optional<std::string> boot_token = "bt-0123456789";
  std::optional<std::string> containerd_key; // sent as "containerd_key" when set
  std::deque<int> attest_statuses;     // answered (in order) before the 200
  std::deque<std::string> nonce_bodies; // replace the generated nonce answers (in order)
  std::optional<std::string> attest_body; // replaces the {"key": ...} answer of a 200

  // What the stub saw.
  struct Seen {
    int nonce_requests = 0;
    int attest_requests = 0;
    std::vector<std::string> nonces;    // issued
    std::vector<std::string> verified;  // nonces whose quote bound this TLS client
    std::vector<std::string> problems;  // why an attestation was refused
    std::string vm_name, miner_hotkey, user_agent, content_type;
    bool client_cert_seen = false;
  };
  Seen seen() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

// An existing configfs-tsm report entry under `root` whose outblob is a FIFO
// served by a thread, like the kernel: each read returns `quote` with its
// REPORTDATA replaced by the 64 bytes last written to inblob.
class TsmEmulator {
public:
  TsmEmulator(const std::filesystem::path& root, const std::string& entry, core::Bytes quote);
  ~TsmEmulator();
  int quotes_served() const { return m_served; }

private:
  std::filesystem::path m_dir;
  core::Bytes m_quote;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_served{0};
  std::thread m_thread;
};

// Runs `argv` in a private mount namespace whose /etc/ssl/certs (libcurl's
// compiled-in CApath, and its default CA bundle) holds only `ca_pem`, hashed
// as c_rehash does: a machine where some other CA is trusted system-wide.
// `scratch` receives the directory. Needs root (the tests run as root).
core::Completed run_with_system_ca(const std::filesystem::path& ca_pem, const std::vector<std::string>& argv,
                                   const std::filesystem::path& scratch);

// A v4 TDX quote from tests/data/quotes.
core::Bytes sample_quote();

// MRCONFIGID in a v4 quote: the 48-byte header, then offset 184 of the TD report body.
inline constexpr size_t k_quote_mr_config_id = 48 + 184;
// `quote` with its TD report's MRCONFIGID replaced by `value` (48 bytes).
core::Bytes with_mr_config_id(core::Bytes quote, const core::Bytes& value);
// The TD's MRCONFIGID as Linux 6.16+ shows it under `root`:
// sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid, 48 raw bytes.
void set_mr_config_id(const std::filesystem::path& root, const core::Bytes& value);
// SHA-384 of the content manifest of the regular files in `dir`, written out
// here from the format (core/config_manifest.hpp, tdxctl-unlock(1)) rather than with the
// library's function, so a change of format fails the tests.
core::Bytes manifest_digest(const std::filesystem::path& dir, const std::string& label = "tdx-config");
// Launches the fake TD bound to the volume as it is now: MRCONFIGID (sysfs,
// under `root`) = manifest_digest(root/run/tdx-config). Call it again after
// changing the volume, or the guest refuses it (unlock.config_mismatch).
core::Bytes bind_config_volume(const std::filesystem::path& root);

// A 32 MiB sparse file with a LUKS2 header (cheap PBKDF2 keyslot for `key`),
// and /dev/disk/by-uuid/<uuid> under `root` pointing at it (relative, as udev does).
std::filesystem::path make_luks_device(const std::filesystem::path& root, const std::string& uuid,
                                       const std::string& key);

} // namespace tdx::test
