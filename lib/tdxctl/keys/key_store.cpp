// The store is trusted only as far as it is private: a store directory or
// entry file that group or others can read or write, or that belongs to
// another user, is refused (the keys may already have leaked; the operator
// must look), never silently used or "fixed".
#include "tdxctl/keys/key_store.hpp"
#include "tdxctl/core/digest.hpp"
#include "tdxctl/core/unique_fd.hpp"

#include "tdxctl/policy/policy_file.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tdx::keys {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

namespace {

constexpr const char* k_key_file = "key";
constexpr const char* k_containerd_key_file = "containerd-key";
constexpr const char* k_policy_file = "policy.yaml";

core::Error unsafe(const fs::path& path, const struct stat& st, std::string_view what) {
  return core::Error{Category::not_ready, "keys.store_unsafe",
                     fmt::format("{} ({}) has mode {:04o} and owner uid {}: it must be private to uid {} "
                                 "(no group or other access), because it holds keys",
                                 path.string(), what, st.st_mode & 07777, st.st_uid, ::geteuid()),
                     fmt::format("check who could have read it, then chown root and chmod {} {}",
                                 S_ISDIR(st.st_mode) ? "700" : "600", path.string())};
}

core::Result<void> check_private(int fd, const fs::path& path, std::string_view what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return core::fail(Category::failed, "keys.store_io", fmt::format("cannot stat {}: {}", path.string(), std::strerror(errno)));
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) return std::unexpected(unsafe(path, st, what));
  return {};
}

// The store's directory fd; -1 when it does not exist and `create` is false.
core::Result<int> open_store(const fs::path& dir, bool create) {
  if (create) {
    std::error_code ec;
    if (!dir.parent_path().empty()) fs::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return core::fail(Category::failed, "keys.store_io",
                        fmt::format("cannot create the key store {}: {}", dir.string(), std::strerror(errno)),
                        "run as root, or pass --store DIR");
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && !create) return -1;
  if (fd < 0)
    return core::fail(Category::failed, "keys.store_io",
                      fmt::format("cannot open the key store {}: {}{}", dir.string(), std::strerror(errno),
                                  errno == ELOOP || errno == ENOTDIR ? " (a symbolic link or not a directory)" : ""),
                      "run as root, or pass --store DIR");
  if (auto ok = check_private(fd, dir, "the key store"); !ok) {
    ::close(fd);
    return std::unexpected(ok.error());
  }
  return fd;
}

core::Result<std::string> read_text(int dirfd, const fs::path& path, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return core::fail(Category::failed, "keys.store_io", fmt::format("cannot open {}: {}", (path / name).string(), std::strerror(errno)));
  core::UniqueFd guard(fd);
  TDX_TRY(check_private(fd, path / name, "a key store file"));
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20))
      return core::fail(Category::failed, "keys.store_io", (path / name).string() + " is larger than 1 MiB");
  }
  if (n < 0)
    return core::fail(Category::failed, "keys.store_io", fmt::format("reading {}: {}", (path / name).string(), std::strerror(errno)));
  return out;
}

// nullopt: the file does not exist (only for the optional containerd key).
core::Result<std::optional<core::Secret>> read_secret(int dirfd, const fs::path& path, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT) return std::optional<core::Secret>{};
  if (fd < 0)
    return core::fail(Category::failed, "keys.store_io", fmt::format("cannot open {}: {}", (path / name).string(), std::strerror(errno)));
  core::UniqueFd guard(fd);
  TDX_TRY(check_private(fd, path / name, "a key file"));
  auto s = core::Secret::from_fd(fd, (path / name).string(), "stored key");
  if (!s) return std::unexpected(s.error());
  return std::optional<core::Secret>(std::move(*s));
}

void write_secret_file(const core::TempDir& dir, const char* name, std::string_view data) {
  int fd = dir.create_file(name, 0600);
  core::UniqueFd guard(fd);
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Failure(Category::failed, "keys.store_io", fmt::format("writing {}: {}", (dir / name).string(), std::strerror(errno)));
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0)
    throw Failure(Category::failed, "keys.store_io", fmt::format("fsync {}: {}", (dir / name).string(), std::strerror(errno)));
}

bool same_secret(const core::Secret& a, const core::Secret& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.reveal().data(), b.reveal().data(), a.size()) == 0;
}

quote::Policy parse_stored_policy(const std::string& text, const std::string& name) {
  return policy::parse_policy(text, name);
}

} // namespace

core::Result<void> check_vm_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (unsigned char c : name) ok = ok && (std::isalnum(c) || c == '_' || c == '-');
  if (!ok)
    return core::fail(Category::invalid_input, "keys.vm_name",
                      fmt::format("'{}' is not a VM name (1-64 of A-Z a-z 0-9 _ -, as the guest sends its hostname)",
                                  name));
  return {};
}

void check_registration(const Registration& r) {
  core::value_or_throw(check_vm_name(r.name));
  if (!unlock::is_wire_safe_key(r.key.reveal()))
    throw Failure(Category::invalid_input, "keys.key_format",
                  "the key must be printable ASCII without '\"' or '\\' (it travels as a JSON string), and not empty",
                  "use the key file `tdxctl image build` wrote (OUTPUT.key, hex)");
  if (r.containerd_key && !unlock::is_wire_safe_key(r.containerd_key->reveal()))
    throw Failure(Category::invalid_input, "keys.key_format",
                  "--containerd-key-file: the key must be printable ASCII without '\"' or '\\', and not empty");
  auto policy = policy::parse_policy(r.policy_yaml, r.policy_file.string()); // throws, naming file:line:col
  if (policy.report_data)
    throw Failure(Category::invalid_input, "keys.policy_report_data",
                  r.policy_file.string() + " pins report_data, which no key-release request can match: the "
                  "service requires REPORTDATA = nonce || SHA-256(client SPKI) for each request",
                  "remove report_data from the policy");
}

core::Json VmSummary::to_json() const {
  return core::Json{{"name", name},
                    {"containerd_key", containerd_key},
                    {"policy_sha256", policy_sha256},
                    {"accept_tcb", accept_tcb},
                    {"mr_td_values", mr_td_values},
                    {"rtmrs_pinned", rtmrs_pinned},
                    {"mr_config_id_pinned", mr_config_id_pinned},
                    {"pinned", pinned},
                    {"registered", quote::format_time(registered)}};
}

core::Result<std::optional<StoredVm>> KeyStore::load(std::string_view name) const {
  if (!check_vm_name(name)) return std::optional<StoredVm>{};
  auto store = open_store(m_dir, false);
  if (!store) return std::unexpected(store.error());
  if (*store < 0) return std::optional<StoredVm>{};
  core::UniqueFd store_fd(*store);
  auto path = m_dir / std::string(name);
  int vm = ::openat(*store, std::string(name).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (vm < 0 && errno == ENOENT) return std::optional<StoredVm>{};
  if (vm < 0)
    return core::fail(Category::failed, "keys.store_io", fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  core::UniqueFd vm_fd(vm);
  TDX_TRY(check_private(vm, path, "a key store entry"));
  StoredVm out;
  out.name = std::string(name);
  auto key = read_secret(vm, path, k_key_file);
  if (!key) return std::unexpected(key.error());
  if (!*key) return core::fail(Category::failed, "keys.store_io", (path / k_key_file).string() + " is missing");
  out.key = std::move(**key);
  auto ck = read_secret(vm, path, k_containerd_key_file);
  if (!ck) return std::unexpected(ck.error());
  out.containerd_key = std::move(*ck);
  auto text = read_text(vm, path, k_policy_file);
  if (!text) return std::unexpected(text.error());
  try {
    out.policy = parse_stored_policy(*text, (path / k_policy_file).string());
  } catch (const Failure& f) {
    return std::unexpected(f.error());
  }
  out.policy_sha256 = core::sha256_hex(*text);
  return std::optional<StoredVm>(std::move(out));
}

void KeyStore::ensure() const { ::close(core::value_or_throw(open_store(m_dir, true))); }

std::vector<VmSummary> KeyStore::list() const {
  auto store = core::value_or_throw(open_store(m_dir, false));
  if (store < 0) return {};
  core::UniqueFd guard(store);
  std::vector<VmSummary> out;
  for (const auto& e : fs::directory_iterator(m_dir)) {
    auto name = e.path().filename().string();
    if (!check_vm_name(name)) continue; // staging directories (".new-*") and strays
    auto vm = core::value_or_throw(load(name));
    if (!vm) continue; // removed meanwhile
    VmSummary s;
    s.name = name;
    s.containerd_key = vm->containerd_key.has_value();
    s.policy_sha256 = vm->policy_sha256;
    s.accept_tcb = vm->policy.accept_tcb;
    s.mr_td_values = vm->policy.mr_td.size();
    s.rtmrs_pinned = std::any_of(vm->policy.rtmr.begin(), vm->policy.rtmr.end(), [](const auto& r) { return r.has_value(); });
    s.mr_config_id_pinned = vm->policy.mr_config_id.has_value();
    s.pinned = quote::pinned_values(vm->policy);
    struct stat st {};
    if (::fstatat(store, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) s.registered = st.st_mtime;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

core::Plan KeyStore::plan_add(std::shared_ptr<const Registration> reg, core::Force force) const {
  check_registration(*reg);
  auto dir = m_dir;
  auto same = [dir, reg] {
    auto existing = core::value_or_throw(KeyStore(dir).load(reg->name));
    if (!existing) return false;
    bool ck_same = existing->containerd_key.has_value() == reg->containerd_key.has_value() &&
                   (!reg->containerd_key || same_secret(*existing->containerd_key, *reg->containerd_key));
    return same_secret(existing->key, reg->key) && ck_same && existing->policy_sha256 == core::sha256_hex(reg->policy_yaml);
  };
  core::Step step;
  step.id = "keys.add." + reg->name;
  step.kind = "file";
  step.summary = fmt::format("register VM {} in {} (key{}, policy {})", reg->name, m_dir.string(),
                             reg->containerd_key ? ", containerd key" : "", reg->policy_file.string());
  step.detail = core::Json{{"path", (m_dir / reg->name).string()},
                           {"files", reg->containerd_key
                                         ? core::Json::array({k_key_file, k_containerd_key_file, k_policy_file})
                                         : core::Json::array({k_key_file, k_policy_file})},
                           {"mode", "0600"},
                           {"policy_sha256", core::sha256_hex(reg->policy_yaml)},
                           {"force", force == core::Force::yes}};
  step.is_done = same;
  step.apply = [dir, reg, force] {
    int store = core::value_or_throw(open_store(dir, true));
    core::UniqueFd guard(store);
    struct stat st {};
    bool exists = ::fstatat(store, reg->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && force == core::Force::no)
      throw Failure(Category::invalid_input, "keys.exists",
                    fmt::format("VM {} is already registered in {} with other keys or another policy", reg->name,
                                dir.string()),
                    "pass --force to replace it, or `tdxctl keys remove NAME` first");
    // Staged whole in a private directory of the store (removed on any
    // failure, and after an exchange it holds the old entry, removed too).
    core::TempDir staging(dir, ".new-" + reg->name);
    write_secret_file(staging, k_key_file, reg->key.reveal());
    if (reg->containerd_key) write_secret_file(staging, k_containerd_key_file, reg->containerd_key->reveal());
    write_secret_file(staging, k_policy_file, reg->policy_yaml);
    auto from = staging.path().filename();
    unsigned flags = exists ? RENAME_EXCHANGE : RENAME_NOREPLACE;
    if (::renameat2(store, from.c_str(), store, reg->name.c_str(), flags) != 0)
      throw Failure(Category::failed, "keys.store_io",
                    fmt::format("cannot move the new entry into place as {}: {}", (dir / reg->name).string(),
                                std::strerror(errno)),
                    errno == EEXIST ? "another `tdxctl keys add` registered it meanwhile; run again" : "");
    ::fsync(store);
  };
  core::Plan plan;
  plan.add(std::move(step));
  return plan;
}

core::Plan KeyStore::plan_remove(const std::string& name) const {
  core::value_or_throw(check_vm_name(name));
  auto dir = m_dir;
  core::Step step;
  step.id = "keys.remove." + name;
  step.kind = "file";
  step.summary = fmt::format("remove VM {} and its keys from {}", name, m_dir.string());
  step.detail = core::Json{{"path", (m_dir / name).string()}};
  step.is_done = [dir, name] {
    int store = core::value_or_throw(open_store(dir, false));
    if (store < 0) return true;
    core::UniqueFd guard(store);
    struct stat st {};
    return ::fstatat(store, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
  };
  step.apply = [dir, name] {
    int store = core::value_or_throw(open_store(dir, false));
    if (store < 0) return;
    core::UniqueFd guard(store);
    // Out of the service's sight first (one rename), then deleted.
    core::TempDir graveyard(dir, ".rm-" + name);
    auto to = graveyard.path().filename() / name;
    if (::renameat(store, name.c_str(), store, to.c_str()) != 0)
      throw Failure(Category::failed, "keys.store_io",
                    fmt::format("cannot remove {}: {}", (dir / name).string(), std::strerror(errno)));
    ::fsync(store);
  };
  core::Plan plan;
  plan.add(std::move(step));
  return plan;
}

} // namespace tdx::keys
