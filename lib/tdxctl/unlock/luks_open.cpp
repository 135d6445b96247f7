// libcryptsetup activation. The by-uuid link is resolved by hand, one hop at
// a time under --root, because udev writes it relative ("../../vda2") and an
// absolute target must stay inside the fixture root in tests.
#include "tdxctl/unlock/luks_open.hpp"

#include "tdxctl/cryptsetup/api.hpp"

#include <spdlog/spdlog.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

namespace tdx::unlock {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void to_spdlog(int level, const char* msg, void*) {
  std::string_view m(msg);
  if (!m.empty() && m.back() == '\n') m.remove_suffix(1);
  if (level == CRYPT_LOG_ERROR) spdlog::debug("libcryptsetup: {}", m);
  else spdlog::trace("libcryptsetup: {}", m);
}

} // namespace

core::Json LuksOpenResult::to_json() const {
  return core::Json{{"device", device.string()}, {"keyslot", keyslot}, {"activated", activated},
                    {"already_active", already_active}};
}

core::Result<fs::path> resolve_device_link(const core::Root& root, const std::string& link_abs,
                                           std::chrono::milliseconds wait, const std::string& what,
                                           const std::string& hint) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  fs::path p = root.path(link_abs);
  std::error_code ec;
  while (!fs::exists(fs::symlink_status(p, ec)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (!fs::exists(fs::symlink_status(p, ec)))
    return core::fail(core::Category::not_ready, "unlock.no_device",
                      fmt::format("{} does not exist{}: {}", p.string(),
                                  wait.count() ? fmt::format(" after {} ms", wait.count()) : "", what),
                      hint);
  fs::path abs = link_abs;
  for (int hops = 0; hops < 16 && fs::is_symlink(root.path(abs.string()), ec); ++hops) {
    fs::path target = fs::read_symlink(root.path(abs.string()), ec);
    if (ec) break;
    abs = (target.is_absolute() ? target : abs.parent_path() / target).lexically_normal();
  }
  fs::path dev = root.path(abs.string());
  if (!fs::exists(dev, ec))
    return core::fail(core::Category::not_ready, "unlock.no_device",
                      fmt::format("{} points to {}, which does not exist", p.string(), dev.string()));
  return dev;
}

core::Result<fs::path> device_by_uuid(const core::Root& root, const std::string& uuid,
                                      std::chrono::milliseconds wait) {
  return resolve_device_link(root, "/dev/disk/by-uuid/" + lower(uuid), wait, "no partition with LUKS UUID " + uuid,
                             "check that the root disk is attached and TDX_LUKS_UUID matches the image manifest");
}

bool mapping_active(const std::string& name) { return cryptsetup::api().crypt_status(nullptr, name.c_str()) == CRYPT_ACTIVE; }

core::Result<LuksOpenResult> open_luks(const core::Root& root, const LuksOpenRequest& r, const core::Secret& key) {
  auto dev = device_by_uuid(root, r.uuid, r.wait);
  if (!dev) return std::unexpected(dev.error());
  cryptsetup::api().crypt_set_log_callback(nullptr, to_spdlog, nullptr);
  crypt_device* raw = nullptr;
  if (int rc = cryptsetup::api().crypt_init(&raw, dev->c_str()); rc < 0)
    return core::fail(core::Category::failed, "unlock.luks_init",
                      fmt::format("cannot open {}: {}", dev->string(), strerror(-rc)));
  cryptsetup::Device cd(raw);
  if (int rc = cryptsetup::api().crypt_load(cd.get(), CRYPT_LUKS, nullptr); rc < 0)
    return core::fail(core::Category::failed, "unlock.not_luks",
                      fmt::format("{} has no LUKS header ({})", dev->string(), strerror(-rc)));
  const char* header_uuid = cryptsetup::api().crypt_get_uuid(cd.get());
  if (!header_uuid || lower(header_uuid) != lower(r.uuid))
    return core::fail(core::Category::failed, "unlock.uuid_mismatch",
                      fmt::format("{}: the LUKS header carries UUID {}, expected {}", dev->string(),
                                  header_uuid ? header_uuid : "(none)", r.uuid));
  LuksOpenResult out;
  out.device = *dev;
  if (!r.test_only && cryptsetup::api().crypt_status(cd.get(), r.name.c_str()) == CRYPT_ACTIVE) {
    out.already_active = true;
    return out;
  }
  int slot = cryptsetup::api().crypt_activate_by_passphrase(cd.get(), r.test_only ? nullptr : r.name.c_str(), CRYPT_ANY_SLOT,
                                          key.reveal().data(), key.size(), 0);
  if (slot == -EPERM)
    return core::fail(core::Category::failed, "unlock.wrong_key",
                      fmt::format("the released key opens no keyslot of {} (LUKS UUID {})", dev->string(), r.uuid),
                      "the key service holds a key for another image; register this image's OUTPUT.key");
  if (slot < 0)
    return core::fail(core::Category::failed, "unlock.activate",
                      fmt::format("activating {} as /dev/mapper/{} failed: {}", dev->string(), r.name,
                                  strerror(-slot)),
                      r.test_only ? "" : "device-mapper needs root and the dm_crypt module");
  out.keyslot = slot;
  out.activated = !r.test_only;
  return out;
}

} // namespace tdx::unlock
