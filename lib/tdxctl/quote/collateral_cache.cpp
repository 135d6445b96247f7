// Collateral cache names and windows. The window is what an operator acts
// on: a set past its earliest nextUpdate no longer verifies a quote at
// "now" (without --allow-expired-collateral), so host check warns ahead.
#include "tdxctl/quote/collateral_cache.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace tdx::quote {

namespace fs = std::filesystem;

std::string CollateralKey::cache_name() const {
  std::string name = core::to_hex(fmspc);
  for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return tdx ? name : name + "-sgx";
}

core::Result<CollateralKey> collateral_key(const Quote& quote, std::string_view what) {
  auto chain = load_pem_chain(quote.cert_data, fmt::format("{}: PCK chain", what));
  if (!chain) return std::unexpected(chain.error());
  auto info = read_pck_info(chain->front().get());
  if (!info) return std::unexpected(info.error());
  return CollateralKey{info->fmspc, info->ca, quote.is_tdx()};
}

bool is_collateral_set(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "tcb_info.json", ec);
}

core::Result<CollateralWindow> collateral_window(const CollateralFiles& files) {
  auto tcb_raw = raw_json_member(files.tcb_info, "tcbInfo");
  auto qe_raw = raw_json_member(files.qe_identity, "enclaveIdentity");
  if (!tcb_raw || !qe_raw)
    return core::fail(core::Category::invalid_input, "collateral.bad_json",
                      fmt::format("{}: tcb_info.json or qe_identity.json lacks its signed member",
                                  files.source));
  auto tcb = parse_tcb_info(*tcb_raw, files.source + "/tcb_info.json");
  if (!tcb) return std::unexpected(tcb.error());
  auto qe = parse_qe_identity(*qe_raw, files.source + "/qe_identity.json");
  if (!qe) return std::unexpected(qe.error());
  CollateralWindow w{std::max(tcb->issue_date, qe->issue_date), std::min(tcb->next_update, qe->next_update)};
  for (auto [der, file] : {std::pair{&files.pck_crl, "pck_crl.der"}, std::pair{&files.root_ca_crl, "root_ca_crl.der"}}) {
    auto crl = load_crl(*der, files.source + "/" + file);
    if (!crl) return std::unexpected(crl.error());
    w.issued = std::max(w.issued, asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl->get())));
    w.expires = std::min(w.expires, asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl->get())));
  }
  return w;
}

std::vector<CachedSet> list_collateral_cache(const fs::path& cache) {
  std::vector<CachedSet> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache, ec)) {
    auto name = e.path().filename().string();
    // sets/ holds the content-addressed sets; "NAME.tmp-PID" is a link being swapped in.
    if (name == "sets" || name.find(".tmp-") != std::string::npos) continue;
    auto files = load_collateral_dir(e.path());
    out.push_back({name, files ? collateral_window(*files)
                               : core::Result<CollateralWindow>(std::unexpected(files.error()))});
  }
  std::sort(out.begin(), out.end(), [](const CachedSet& a, const CachedSet& b) { return a.name < b.name; });
  return out;
}

} // namespace tdx::quote
