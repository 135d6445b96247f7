// Quote generation through configfs-tsm, as the kernel documents it
// (Documentation/ABI/testing/configfs-tsm): mkdir an entry, check `provider`
// is tdx_guest, write 64 bytes to `inblob`, read `outblob` (the kernel asks
// the QGS via the TDX module and blocks), and compare `generation` before and
// after the read: a different value means another writer changed `inblob`
// concurrently and the quote may not carry our REPORTDATA. The ioctl path is
// the fallback for kernels without a quote provider.
#include "tdxctl/quote/generate.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

constexpr std::string_view tsm_dir = "/sys/kernel/config/tsm/report";

core::Error unavailable(std::string message, std::string hint = {}) {
  return core::Error{core::Category::not_ready, "quote.generate_unavailable", std::move(message),
                     std::move(hint)};
}

core::Result<core::Bytes> read_all(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(unavailable(fmt::format("cannot open {}: {}", path.string(), strerror(errno))));
  core::Bytes out;
  uint8_t buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  int err = errno;
  ::close(fd);
  if (n < 0) return std::unexpected(unavailable(fmt::format("reading {} failed: {}", path.string(), strerror(err))));
  return out;
}

std::string private_entry_name() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  return fmt::format("tdxctl-{}-{}-{:08x}", getpid(), counter++, rd());
}

} // namespace

bool configfs_tsm_present(const core::Root& root) { return std::filesystem::is_directory(root.path(tsm_dir)); }

core::Result<core::Bytes> generate_quote(const core::Root& root, std::span<const uint8_t, 64> report_data) {
  return generate_quote(root, report_data, {});
}

core::Result<core::Bytes> generate_quote(const core::Root& root, std::span<const uint8_t, 64> report_data,
                                         const std::string& entry_name) {
  auto base = root.path(tsm_dir);
  if (!configfs_tsm_present(root))
    return std::unexpected(unavailable(
        fmt::format("{} does not exist: no configfs-tsm in this kernel (or configfs not mounted)", base.string()),
        "inside a TD run 'mount -t configfs none /sys/kernel/config'; without a quote provider use "
        "'tdxctl quote generate --td-report'"));
  std::string name = entry_name.empty() ? private_entry_name() : entry_name;
  if (name.find('/') != std::string::npos || name == "." || name == "..")
    return core::fail(core::Category::usage, "quote.bad_entry", fmt::format("--tsm-entry '{}' is not a plain name", name));
  auto dir = base / name;
  bool created = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno != EEXIST)
    return std::unexpected(unavailable(fmt::format("cannot create {}: {}", dir.string(), strerror(errno))));
  struct Remove {
    std::filesystem::path dir;
    bool active;
    ~Remove() {
      if (active) ::rmdir(dir.c_str());
    }
  } remove{dir, created};

  auto provider = read_all(dir / "provider");
  if (!provider) return std::unexpected(provider.error());
  std::string prov = core::trim(std::string(provider->begin(), provider->end()));
  if (prov != "tdx_guest")
    return std::unexpected(unavailable(fmt::format("{}/provider is '{}'; expected tdx_guest (not a TDX guest?)",
                                                   dir.string(), prov)));
  // Through core::Root, the one pseudo-file writer: never a link out of --root.
  auto written = root.write(std::string(tsm_dir) + "/" + name + "/inblob",
                            {reinterpret_cast<const char*>(report_data.data()), report_data.size()});
  if (!written)
    return std::unexpected(written.error().code == "root.escape" ? written.error()
                                                                 : unavailable(written.error().message));
  auto gen_before = read_all(dir / "generation");
  if (!gen_before) return std::unexpected(gen_before.error());
  auto quote = read_all(dir / "outblob");
  if (!quote) return std::unexpected(quote.error());
  auto gen_after = read_all(dir / "generation");
  if (!gen_after) return std::unexpected(gen_after.error());
  if (*gen_before != *gen_after)
    return core::fail(core::Category::failed, "quote.concurrent_writer",
                      fmt::format("{}/generation changed from {} to {} while the quote was generated: "
                                  "another process wrote inblob",
                                  dir.string(), core::trim(std::string(gen_before->begin(), gen_before->end())),
                                  core::trim(std::string(gen_after->begin(), gen_after->end()))),
                      "retry, or use a private entry (omit --tsm-entry)");
  if (quote->empty())
    return core::fail(core::Category::failed, "quote.empty", fmt::format("{}/outblob is empty", dir.string()),
                      "check that the quote generation service (QGS) runs on the host");
  return *quote;
}

core::Result<core::Bytes> get_td_report(const core::Root& root, std::span<const uint8_t, 64> report_data) {
  // struct tdx_report_req from <linux/tdx-guest.h>; defined here because
  // Debian 12's linux-libc-dev may predate the header.
  struct TdxReportReq {
    uint8_t reportdata[64];
    uint8_t tdreport[1024];
  };
  constexpr unsigned long tdx_cmd_get_report0 = _IOWR('T', 1, TdxReportReq);
  auto dev = root.path("/dev/tdx_guest");
  int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return std::unexpected(unavailable(fmt::format("cannot open {}: {} (not a TDX guest, or the tdx_guest "
                                                   "driver is not loaded)",
                                                   dev.string(), strerror(errno))));
  TdxReportReq req{};
  std::memcpy(req.reportdata, report_data.data(), 64);
  int rc = ::ioctl(fd, tdx_cmd_get_report0, &req);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return std::unexpected(unavailable(fmt::format("TDX_CMD_GET_REPORT0 on {} failed: {}", dev.string(), strerror(err))));
  return core::Bytes(req.tdreport, req.tdreport + sizeof req.tdreport);
}

} // namespace tdx::quote
