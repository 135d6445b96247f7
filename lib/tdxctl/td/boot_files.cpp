// The manifest and the boot files are host-side inputs that another user may
// have prepared (image directories are often shared), so nothing here
// follows a name: the manifest's directory is opened once, and every file is
// opened through it with O_NOFOLLOW, by a plain name taken from the manifest,
// and must be a regular file. The command line's bytes are read once,
// checked against their digest, and those same bytes go into the domain XML;
// kernel and initrd are hashed in preflight, right before libvirt reads them.
#include "tdxctl/td/boot_files.hpp"

#include "tdxctl/core/config_manifest.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/core/unique_fd.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace tdx::td {

using core::Category;
using core::fail;
namespace fs = std::filesystem;

namespace {

// A manifest is a few KiB; a bound keeps a hostile one from eating memory.
constexpr size_t k_max_manifest_bytes = 1 << 20;

const char* const k_rebuild_hint =
    "rebuild the image with `tdxctl image build` (it writes OUTPUT.vmlinuz, OUTPUT.initrd and "
    "OUTPUT.cmdline beside it and records them in the manifest), or set td.boot: firmware (--boot "
    "firmware) for an image that brings its own bootloader";

// Plain names only: no path, nothing hidden, no shell or XML specials.
bool plain_file_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+';
  });
}

bool sha384_hex_text(std::string_view s) {
  return s.size() == 96 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// Opens `name` inside `dir` without following a symlink; must be a regular file.
core::Result<core::UniqueFd> open_in_dir(int dirfd, const fs::path& path, struct stat& st) {
  core::UniqueFd fd(::openat(dirfd, path.filename().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT)
      return fail(Category::not_ready, "td.boot_file_missing", path.string() + " does not exist", k_rebuild_hint);
    if (err == ELOOP)
      return fail(Category::invalid_input, "td.boot_file_unsafe",
                  path.string() + " is a symbolic link; direct boot reads only regular files in the manifest's "
                                  "directory",
                  "replace the link with the file `tdxctl image build` wrote");
    return fail(Category::not_ready, "td.boot_file_unreadable",
                fmt::format("cannot open {}: {}", path.string(), std::strerror(err)));
  }
  if (::fstat(fd.get(), &st) != 0)
    return fail(Category::not_ready, "td.boot_file_unreadable",
                fmt::format("cannot stat {}: {}", path.string(), std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return fail(Category::invalid_input, "td.boot_file_unsafe",
                path.string() + " is not a regular file; direct boot reads only regular files");
  return fd;
}

core::Result<std::string> read_bounded(int fd, const fs::path& path, const struct stat& st, size_t limit,
                                       const char* what) {
  if (static_cast<uint64_t>(st.st_size) > limit)
    return fail(Category::invalid_input, "td.boot_manifest_invalid",
                fmt::format("{} is {} bytes; a {} has at most {}", path.string(), st.st_size, what, limit));
  std::string buf(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(Category::not_ready, "td.boot_file_unreadable",
                  fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > limit)
    return fail(Category::invalid_input, "td.boot_manifest_invalid",
                fmt::format("{} grew past {} bytes while it was read", path.string(), limit));
  buf.resize(got);
  return buf;
}

core::Error mismatch(const BootFile& f, const std::string& have, const fs::path& manifest) {
  return core::Error{Category::not_ready, "td.boot_file_mismatch",
                     fmt::format("{} does not match the image's manifest {}: its SHA-384 is {}, the manifest "
                                 "says {}; the TD would boot something other than what was built and measured",
                                 f.path.string(), manifest.string(), have, f.sha384),
                     "restore the file from the build, or rebuild the image with `tdxctl image build` (and "
                     "re-derive the policy with `tdxctl image measure`)"};
}

} // namespace

core::Result<std::string> sha384_of_fd(int fd, const std::string& what) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha384(), nullptr) != 1)
    return fail(Category::failed, "td.sha384", "OpenSSL cannot compute SHA-384");
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(Category::failed, "td.volume_unreadable", fmt::format("read error in {}: {}", what, std::strerror(errno)));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return core::to_hex({md, len});
}

core::Json DirectBoot::to_json() const {
  auto file = [](const BootFile& f) { return core::Json{{"path", f.path.string()}, {"sha384", f.sha384}}; };
  return core::Json{{"mode", "direct"},
                    {"manifest", manifest.string()},
                    {"kernel", file(kernel)},
                    {"initrd", file(initrd)},
                    {"cmdline", cmdline},
                    {"cmdline_sha384", cmdline_file.sha384}};
}

fs::path image_manifest_path(const std::string& image) { return fs::path(image + ".manifest.json"); }

core::Result<DirectBoot> read_direct_boot(const std::string& image) {
  DirectBoot boot;
  boot.manifest = fs::absolute(image_manifest_path(image)).lexically_normal();
  const fs::path dir = boot.manifest.parent_path();
  const std::string m = boot.manifest.string();

  core::UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd && errno == ENOENT)
    return fail(Category::not_ready, "td.boot_manifest_missing",
                "direct boot (td.boot: direct) takes the kernel, initrd and command line from the image's "
                "manifest " + m + ", whose directory does not exist",
                k_rebuild_hint);
  if (!dirfd)
    return fail(Category::not_ready, "td.boot_file_unreadable",
                fmt::format("cannot open {}: {}", dir.string(), std::strerror(errno)));

  struct stat st {};
  auto mfd = open_in_dir(dirfd.get(), boot.manifest, st);
  if (!mfd) {
    if (mfd.error().code == "td.boot_file_missing")
      return fail(Category::not_ready, "td.boot_manifest_missing",
                  "direct boot (td.boot: direct) takes the kernel, initrd and command line from the image's "
                  "manifest " + m + ", which does not exist",
                  k_rebuild_hint);
    return std::unexpected(mfd.error());
  }
  // The digests are only as trustworthy as the file that holds them.
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || (st.st_uid != ::geteuid() && st.st_uid != 0))
    return fail(Category::invalid_input, "td.boot_file_unsafe",
                fmt::format("{} is {} (mode {:04o}, owner uid {}); its digests decide what the TD boots, so only "
                            "root or you may be able to change it",
                            m, (st.st_mode & (S_IWGRP | S_IWOTH)) ? "writable by others" : "owned by another user",
                            st.st_mode & 07777, st.st_uid),
                "chmod go-w " + m + " and chown it to root, or rebuild the image with `tdxctl image build`");
  auto text = read_bounded(mfd->get(), boot.manifest, st, k_max_manifest_bytes, "manifest");
  if (!text) return std::unexpected(text.error());
  auto doc = core::parse_untrusted_json(*text, m);
  if (!doc)
    return fail(Category::invalid_input, "td.boot_manifest_invalid", doc.error().message,
                "rebuild the image with `tdxctl image build`");
  if (!doc->is_object() || !doc->contains("boot_files"))
    return fail(Category::not_ready, "td.boot_files_missing",
                m + " has no boot_files: the image was built before direct kernel boot, or by another tool",
                k_rebuild_hint);

  const auto& files = (*doc)["boot_files"];
  auto bad = [&](const std::string& key, const std::string& expected) {
    return fail(Category::invalid_input, "td.boot_manifest_invalid",
                m + ": key 'boot_files" + (key.empty() ? "" : "." + key) + "': expected " + expected,
                "rebuild the image with `tdxctl image build`");
  };
  if (!files.is_object()) return bad("", "an object with kernel, initrd and cmdline");
  for (auto [role, out] : {std::pair{"kernel", &boot.kernel}, std::pair{"initrd", &boot.initrd},
                            std::pair{"cmdline", &boot.cmdline_file}}) {
    std::string key = role;
    if (!files.contains(role) || !files[role].is_object()) return bad(key, "an object with file and sha384");
    const auto& entry = files[role];
    if (!entry.contains("file") || !entry["file"].is_string() || !plain_file_name(entry["file"].get<std::string>()))
      return bad(key + ".file",
                 "a file name in the manifest's directory (letters, digits, '.', '_', '-', '+'; no '/', not "
                 "starting with '.' or '-')");
    if (!entry.contains("sha384") || !entry["sha384"].is_string() ||
        !sha384_hex_text(entry["sha384"].get<std::string>()))
      return bad(key + ".sha384", "96 hex digits (a SHA-384)");
    out->file = entry["file"].get<std::string>();
    out->path = dir / out->file;
    out->sha384 = entry["sha384"].get<std::string>();
    std::transform(out->sha384.begin(), out->sha384.end(), out->sha384.begin(), ::tolower);
  }

  auto cfd = open_in_dir(dirfd.get(), boot.cmdline_file.path, st);
  if (!cfd) return std::unexpected(cfd.error());
  auto cmdline = read_bounded(cfd->get(), boot.cmdline_file.path, st, k_max_cmdline_bytes, "kernel command line");
  if (!cmdline) return std::unexpected(cmdline.error());
  if (auto have = core::sha384_hex(*cmdline); have != boot.cmdline_file.sha384)
    return std::unexpected(mismatch(boot.cmdline_file, have, boot.manifest));
  // Printable ASCII only: a newline or control byte would not survive the
  // XML and QEMU's option parsing unchanged, and no kernel parameter needs one.
  for (size_t i = 0; i < cmdline->size(); ++i) {
    auto c = static_cast<unsigned char>((*cmdline)[i]);
    if (c < 0x20 || c > 0x7e)
      return fail(Category::invalid_input, "td.boot_manifest_invalid",
                  fmt::format("{}: byte offset {} is 0x{:02x}; a kernel command line here is printable ASCII "
                              "on one line, without a trailing newline",
                              boot.cmdline_file.path.string(), i, c),
                  "rebuild the image with `tdxctl image build`");
  }
  boot.cmdline = std::move(*cmdline);
  return boot;
}

core::Result<void> verify_direct_boot(const DirectBoot& boot) {
  core::UniqueFd dirfd(::open(boot.manifest.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd)
    return fail(Category::not_ready, "td.boot_file_unreadable",
                fmt::format("cannot open {}: {}", boot.manifest.parent_path().string(), std::strerror(errno)));
  for (const BootFile* f : {&boot.kernel, &boot.initrd}) {
    struct stat st {};
    auto fd = open_in_dir(dirfd.get(), f->path, st);
    if (!fd) return std::unexpected(fd.error());
    auto have = sha384_of_fd(fd->get(), f->path.string());
    if (!have) return std::unexpected(have.error());
    if (*have != f->sha384) return std::unexpected(mismatch(*f, *have, boot.manifest));
  }
  return {};
}

} // namespace tdx::td
