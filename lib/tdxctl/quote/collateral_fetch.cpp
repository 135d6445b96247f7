// Collateral download and cache. Every response is checked for HTTP 200 and
// the issuer-chain header (PCS names: TCB-Info-Issuer-Chain, accepting the
// older SGX-TCB-Info-Issuer-Chain; SGX-Enclave-Identity-Issuer-Chain;
// SGX-PCK-CRL-Issuer-Chain), and each body is parsed before anything is
// cached, so the cache only ever holds sets that `quote verify` can read.
// Signatures are verified at use, against the verification time.
#include "tdxctl/quote/collateral_fetch.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

core::Result<HttpResponse> get_ok(const std::string& url, const HttpOptions& http) {
  auto r = http_get(url, http);
  if (!r) return r;
  if (r->status != 200) {
    auto rid = r->headers.contains("request-id") ? " (Request-ID " + r->headers["request-id"] + ")" : std::string();
    return core::fail(core::Category::not_ready, "collateral.unavailable",
                      fmt::format("GET {} answered HTTP {}{}", url, r->status, rid),
                      "check the FMSPC and the PCS/PCCS URL");
  }
  return r;
}

core::Result<std::string> chain_header(const HttpResponse& r, const std::string& url,
                                       std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (auto it = r.headers.find(n); it != r.headers.end()) return url_decode(it->second);
  return core::fail(core::Category::not_ready, "collateral.no_chain",
                    fmt::format("GET {}: the response lacks the {} header", url, *names.begin()));
}

} // namespace

core::Result<CollateralFiles> fetch_collateral(const CollateralRequest& q) {
  CollateralFiles f;
  std::string base = q.base_url;
  while (base.ends_with('/')) base.pop_back();
  std::string fmspc = core::to_hex(q.fmspc);
  for (auto& ch : fmspc) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const char* tee = q.tdx ? "tdx" : "sgx";

  std::string tcb_url = fmt::format("{}/{}/certification/v4/tcb?fmspc={}", base, tee, fmspc);
  auto tcb = get_ok(tcb_url, q.http);
  if (!tcb) return std::unexpected(tcb.error());
  f.tcb_info = tcb->body;
  auto tcb_chain = chain_header(*tcb, tcb_url, {"tcb-info-issuer-chain", "sgx-tcb-info-issuer-chain"});
  if (!tcb_chain) return std::unexpected(tcb_chain.error());
  f.tcb_info_issuer_chain = *tcb_chain;

  std::string qe_url = fmt::format("{}/{}/certification/v4/qe/identity", base, tee);
  auto qe = get_ok(qe_url, q.http);
  if (!qe) return std::unexpected(qe.error());
  f.qe_identity = qe->body;
  auto qe_chain = chain_header(*qe, qe_url, {"sgx-enclave-identity-issuer-chain"});
  if (!qe_chain) return std::unexpected(qe_chain.error());
  f.qe_identity_issuer_chain = *qe_chain;

  std::string crl_url = fmt::format("{}/sgx/certification/v4/pckcrl?ca={}&encoding=der", base, q.ca);
  auto crl = get_ok(crl_url, q.http);
  if (!crl) return std::unexpected(crl.error());
  f.pck_crl = crl->body;
  auto crl_chain = chain_header(*crl, crl_url, {"sgx-pck-crl-issuer-chain"});
  if (!crl_chain) return std::unexpected(crl_chain.error());
  f.pck_crl_issuer_chain = *crl_chain;

  std::string root_url = q.pcs ? std::string(intel_root_crl_url) : base + "/sgx/certification/v4/rootcacrl";
  auto root = get_ok(root_url, q.http);
  if (!root) return std::unexpected(root.error());
  f.root_ca_crl = root->body;

  // Parse everything before it may enter the cache.
  for (auto [body, key, file] : {std::tuple{&f.tcb_info, "tcbInfo", tcb_url}, std::tuple{&f.qe_identity, "enclaveIdentity", qe_url}})
    if (!raw_json_member(*body, key))
      return core::fail(core::Category::not_ready, "collateral.bad_body",
                        fmt::format("GET {}: the body is not {{\"{}\": ..., \"signature\": ...}}", file, key));
  if (auto t = parse_tcb_info(*raw_json_member(f.tcb_info, "tcbInfo"), tcb_url); !t) return std::unexpected(t.error());
  if (auto t = parse_qe_identity(*raw_json_member(f.qe_identity, "enclaveIdentity"), qe_url); !t)
    return std::unexpected(t.error());
  for (auto [chain, what] : {std::pair{&f.tcb_info_issuer_chain, "TCB info issuer chain"},
                             std::pair{&f.qe_identity_issuer_chain, "QE identity issuer chain"},
                             std::pair{&f.pck_crl_issuer_chain, "PCK CRL issuer chain"}})
    if (auto c = load_pem_chain(*chain, what); !c) return std::unexpected(c.error());
  if (auto c = load_crl(f.pck_crl, crl_url); !c) return std::unexpected(c.error());
  if (auto c = load_crl(f.root_ca_crl, root_url); !c) return std::unexpected(c.error());
  f.source = base;
  return f;
}

std::string collateral_set_hash(const CollateralFiles& f) {
  std::string all;
  for (const std::string* s : {&f.tcb_info, &f.tcb_info_issuer_chain, &f.qe_identity, &f.qe_identity_issuer_chain,
                               &f.pck_crl, &f.pck_crl_issuer_chain, &f.root_ca_crl})
    all += std::to_string(s->size()) + ":" + *s;
  return core::to_hex(sha256(core::as_bytes(all)));
}

core::Plan plan_store_collateral(const std::filesystem::path& cache, const std::string& name,
                                 const CollateralFiles& f) {
  namespace fs = std::filesystem;
  std::string hash = collateral_set_hash(f);
  fs::path set = cache / "sets" / hash;
  fs::path link = cache / name;
  std::string target = "sets/" + hash;
  core::Plan plan;
  std::vector<std::pair<std::string, const std::string*>> contents;
  const std::string* slots[] = {&f.tcb_info, &f.tcb_info_issuer_chain, &f.qe_identity, &f.qe_identity_issuer_chain,
                                &f.pck_crl, &f.pck_crl_issuer_chain, &f.root_ca_crl};
  for (size_t i = 0; i < 7; ++i) contents.emplace_back(collateral_file_names()[i], slots[i]);
  plan.add(core::Step{
      "collateral.set." + hash.substr(0, 16), "file",
      fmt::format("store collateral set {} in {}", hash.substr(0, 16), set.string()),
      core::Json{{"path", set.string()}, {"sha256", hash}},
      [set] { return fs::is_directory(set); },
      [set, contents] {
        fs::create_directories(set.parent_path());
        core::TempDir tmp(set.parent_path(), ".incoming");
        for (const auto& [file, data] : contents) core::write_file_atomic(tmp / file, *data, 0644, core::Force::no);
        std::error_code ec;
        fs::rename(tmp.path(), set, ec); // a directory rename is atomic; a racing writer wrote the same bytes
        if (ec && !fs::is_directory(set))
          throw core::Failure(core::Category::failed, "collateral.store",
                              fmt::format("cannot store {}: {}", set.string(), ec.message()));
      },
      {}});
  plan.add(core::Step{
      "collateral.link." + name, "file", fmt::format("point {} at {}", link.string(), target),
      core::Json{{"path", link.string()}, {"target", target}},
      [link, target] {
        std::error_code ec;
        return fs::read_symlink(link, ec).string() == target;
      },
      [link, target] {
        fs::path tmp = link.string() + ".tmp-" + std::to_string(::getpid());
        fs::remove(tmp);
        fs::create_symlink(target, tmp);
        fs::rename(tmp, link); // atomic replace of the symlink
      },
      {}});
  return plan;
}

} // namespace tdx::quote
