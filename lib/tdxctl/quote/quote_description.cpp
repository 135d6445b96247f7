// Rendering for `quote show`; parsing stays in parse.cpp and judging in
// verify.cpp, so this file only lays out what they found.
#include "tdxctl/quote/quote_description.hpp"

#include "tdxctl/core/hex.hpp"

#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tdx::quote {

QuoteDescription describe_quote(Quote q) {
  QuoteDescription d;
  if (q.cert_type == 5) {
    if (auto chain = load_pem_chain(q.cert_data, "PCK chain"); chain && !chain->empty()) {
      for (const auto& c : *chain) d.pck_chain.push_back(subject_cn(c.get()));
      if (auto info = read_pck_info(chain->front().get())) d.pck = *info;
    }
  }
  d.quote = std::move(q);
  return d;
}

core::Json QuoteDescription::to_json() const {
  auto doc = quote_to_json(quote);
  if (!pck_chain.empty()) doc["pck_chain"] = pck_chain;
  if (pck) doc["pck"] = pck->to_json();
  return doc;
}

void QuoteDescription::print(std::ostream& os) const {
  os << "Quote v" << quote.version << " (" << (quote.is_tdx() ? "TDX" : "SGX") << "), "
     << quote.raw.size() << " bytes, body type " << quote.body_type << " (" << quote.body_size
     << " bytes), signed region " << quote.signed_len << " bytes\n";
  if (quote.td) {
    const auto& td = *quote.td;
    auto attrs = decode_td_attributes(td.td_attributes);
    os << "  TEE_TCB_SVN      " << core::to_hex(td.tee_tcb_svn) << "\n"
       << "  MRSEAM           " << core::to_hex(td.mr_seam) << "\n"
       << "  MRSIGNERSEAM     " << core::to_hex(td.mr_signer_seam) << "\n"
       << "  SEAMATTRIBUTES   " << core::to_hex(td.seam_attributes) << "\n"
       << "  TDATTRIBUTES     " << core::to_hex(td.td_attributes);
    std::vector<std::string> set;
    for (auto& [k, v] : attrs.items())
      if (v.get<bool>()) set.push_back(k == "debug" ? "DEBUG (host can read TD memory!)" : k);
    os << (set.empty() ? "" : "  " + fmt::format("{}", fmt::join(set, ", "))) << "\n"
       << "  XFAM             " << core::to_hex(td.xfam) << "\n"
       << "  MRTD             " << core::to_hex(td.mr_td) << "\n"
       << "  MRCONFIGID       " << core::to_hex(td.mr_config_id) << "\n"
       << "  MROWNER          " << core::to_hex(td.mr_owner) << "\n"
       << "  MROWNERCONFIG    " << core::to_hex(td.mr_owner_config) << "\n";
    for (size_t i = 0; i < 4; ++i) os << "  RTMR" << i << "            " << core::to_hex(td.rtmr[i]) << "\n";
    os << "  REPORTDATA       " << core::to_hex(td.report_data) << "\n";
    if (td.tee_tcb_svn2) os << "  TEE_TCB_SVN2     " << core::to_hex(*td.tee_tcb_svn2) << "\n";
    if (td.mr_servicetd) os << "  MRSERVICETD      " << core::to_hex(*td.mr_servicetd) << "\n";
    if (td.ex)
      os << "  VMID             " << int{td.ex->vmid} << "\n"
         << "  TDID             " << core::to_hex(td.ex->td_id) << "\n"
         << "  DEVINFO          " << core::to_hex(td.ex->dev_info) << "\n"
         << "  INITSERVTDHASH   " << core::to_hex(td.ex->init_serv_td_hash) << "\n"
         << "  INITSERVTDATTR   " << core::to_hex(td.ex->init_serv_td_attributes) << "\n"
         << "  INITCPUSVN       " << core::to_hex(td.ex->init_cpu_svn) << "\n"
         << "  INITTEETCBSVN    " << core::to_hex(td.ex->init_tee_tcb_svn) << "\n"
         << "  INITTEEFMSPC     " << core::to_hex(td.ex->init_tee_fmspc) << "\n"
         << "  CURSERVTDHASH    " << core::to_hex(td.ex->cur_serv_td_hash) << "\n"
         << "  CURSERVTDATTR    " << core::to_hex(td.ex->cur_serv_td_attributes) << "\n";
  }
  if (quote.sgx)
    os << "  MRENCLAVE        " << core::to_hex(quote.sgx->mr_enclave) << "\n"
       << "  MRSIGNER         " << core::to_hex(quote.sgx->mr_signer) << "\n"
       << "  REPORTDATA       " << core::to_hex(quote.sgx->report_data) << "\n";
  os << "QE report: MRSIGNER " << core::to_hex(quote.qe_report.mr_signer) << ", ISVPRODID "
     << quote.qe_report.isv_prod_id << ", ISVSVN " << quote.qe_report.isv_svn << "\n"
     << "Attestation key  " << core::to_hex(quote.attestation_key) << "\n"
     << "Certification    type " << quote.outer_cert_type << " wrapping type " << quote.cert_type
     << " (" << quote.cert_data.size() << " bytes)\n";
  if (!pck_chain.empty()) os << "PCK chain        " << fmt::format("{}", fmt::join(pck_chain, " <- ")) << "\n";
  if (pck)
    os << "PCK              FMSPC " << core::to_hex(pck->fmspc) << ", PCE-ID "
       << core::to_hex(pck->pce_id) << ", PCESVN " << pck->pcesvn << ", " << pck->ca << " CA\n";
  if (quote.trailing_bytes)
    os << "Trailing bytes   " << quote.trailing_bytes << (quote.trailing_nonzero ? " (not all zero)" : " (zero padding)") << "\n";
}

} // namespace tdx::quote
