// Attestation collateral on this host: how old the cached sets are and when
// they expire (a set past its nextUpdate no longer verifies a quote), and
// whether the PCCS/PCS that renews them answers. Neither is required to run
// TDs, so both warn at most. The probe has a short timeout and is skipped
// when no service is configured: host check stays fast and offline.
#include "tdxctl/host/check.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/quote/collateral_cache.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/http.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace tdx::host {

namespace {

constexpr time_t k_day = 24 * 60 * 60;
constexpr time_t k_warn_before_expiry = 7 * k_day;

std::string days(time_t seconds) {
  time_t d = seconds / k_day;
  return d == 1 ? "1 day" : fmt::format("{} days", d);
}

// The PCCS base the QPL (and so the QGS) uses: "pccs_url" of
// /etc/sgx_default_qcnl.conf, JSON with comments, minus its API path.
std::string qcnl_pccs_url(const core::Root& root) {
  auto text = core::read_file(root.path("/etc/sgx_default_qcnl.conf"));
  if (!text) return {};
  auto doc = core::Json::parse(*text, nullptr, false, true);
  if (!doc.is_object() || !doc.contains("pccs_url") || !doc["pccs_url"].is_string()) return {};
  std::string url = doc["pccs_url"].get<std::string>();
  if (auto at = url.find("/sgx/certification/"); at != std::string::npos) url.resize(at);
  return url;
}

} // namespace

CheckResult check_collateral_cache(const core::Root& root, const CheckOptions& options) {
  const std::string id = "collateral.cache", title = "Cached attestation collateral";
  std::filesystem::path cache = options.collateral_cache.empty() ? root.path(quote::default_collateral_cache)
                                                                 : std::filesystem::path(options.collateral_cache);
  auto sets = quote::list_collateral_cache(cache);
  if (sets.empty())
    return make_result(id, title, Status::skip, "none in " + cache.string(),
                       "tdxctl collateral fetch --pcs --quote QUOTE (or --pccs URL)", false);
  time_t now = options.at ? options.at : std::time(nullptr);
  Status status = Status::ok;
  std::vector<std::string> parts;
  for (const auto& set : sets) {
    if (!set.window) {
      status = Status::warn;
      parts.push_back(set.name + ": " + set.window.error().message);
      continue;
    }
    const auto& w = *set.window;
    std::string age = w.issued <= now ? days(now - w.issued) + " old" : "issued in the future";
    if (now >= w.expires) {
      status = Status::warn;
      parts.push_back(fmt::format("{}: EXPIRED {} ({} ago; {})", set.name, quote::format_time(w.expires),
                                  days(now - w.expires), age));
    } else if (w.expires - now < k_warn_before_expiry) {
      status = Status::warn;
      parts.push_back(fmt::format("{}: expires in {} ({}; {})", set.name, days(w.expires - now),
                                  quote::format_time(w.expires), age));
    } else {
      parts.push_back(fmt::format("{}: {}, expires {}", set.name, age, quote::format_time(w.expires)));
    }
  }
  return make_result(id, title, status, fmt::format("{}", fmt::join(parts, "; ")),
                     "renew with: tdxctl collateral fetch --pcs --fmspc FMSPC (or --pccs URL)", false);
}

CheckResult check_collateral_service(const core::Root& root, const CheckOptions& options) {
  const std::string id = "collateral.service", title = "PCCS/PCS reachable";
  std::string base = options.pccs_url.empty() ? qcnl_pccs_url(root) : options.pccs_url;
  if (base.empty())
    return make_result(id, title, Status::skip, "not configured (no --pccs, no pccs_url in /etc/sgx_default_qcnl.conf)",
                       {}, false);
  while (base.ends_with('/')) base.pop_back();
  // An endpoint both PCS and PCCS serve, small, needing no FMSPC.
  std::string url = base + "/tdx/certification/v4/qe/identity";
  quote::HttpOptions http;
  http.timeout_s = options.pccs_timeout_s;
  http.cacert = options.pccs_cacert;
  auto start = std::chrono::steady_clock::now();
  auto r = quote::http_get(url, http);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (!r)
    return make_result(id, title, Status::warn, r.error().message,
                       "check the PCCS (systemctl status pccs) or the URL; collateral cannot be renewed", false);
  if (r->status != 200)
    return make_result(id, title, Status::warn, fmt::format("GET {}: HTTP {}", url, r->status),
                       "check the PCCS URL and its API key / cache", false);
  return make_result(id, title, Status::ok, fmt::format("{} answered in {} ms", base, ms), {}, false);
}

} // namespace tdx::host
