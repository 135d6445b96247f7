// The JSON view of a parsed quote: every header, body and signature-data
// field in lowercase hex, TDATTRIBUTES decoded by name. Field names follow
// tests/data/quotes/*/expected.json so the two can be compared.
#include "tdxctl/quote/quote.hpp"

#include <fmt/format.h>

namespace tdx::quote {

using core::Json;
using core::to_hex;

Json EnclaveReport::to_json() const {
  return Json{{"cpu_svn", to_hex(cpu_svn)},         {"misc_select", misc_select},
              {"attributes", to_hex(attributes)},   {"mr_enclave", to_hex(mr_enclave)},
              {"mr_signer", to_hex(mr_signer)},     {"isv_prod_id", isv_prod_id},
              {"isv_svn", isv_svn},                 {"report_data", to_hex(report_data)},
              {"debug", (attributes[0] & 0x02) != 0}};
}

Json TdReport::to_json() const {
  Json j{{"tee_tcb_svn", to_hex(tee_tcb_svn)},
         {"mr_seam", to_hex(mr_seam)},
         {"mr_signer_seam", to_hex(mr_signer_seam)},
         {"seam_attributes", to_hex(seam_attributes)},
         {"td_attributes", to_hex(td_attributes)},
         {"xfam", to_hex(xfam)},
         {"mr_td", to_hex(mr_td)},
         {"mr_config_id", to_hex(mr_config_id)},
         {"mr_owner", to_hex(mr_owner)},
         {"mr_owner_config", to_hex(mr_owner_config)},
         {"rtmr0", to_hex(rtmr[0])},
         {"rtmr1", to_hex(rtmr[1])},
         {"rtmr2", to_hex(rtmr[2])},
         {"rtmr3", to_hex(rtmr[3])},
         {"report_data", to_hex(report_data)}};
  if (tee_tcb_svn2) j["tee_tcb_svn2"] = to_hex(*tee_tcb_svn2);
  if (mr_servicetd) j["mr_servicetd"] = to_hex(*mr_servicetd);
  if (ex) j["td15ex"] = ex->to_json();
  return j;
}

Json Td15Ex::to_json() const {
  return Json{{"vmid", vmid},
              {"td_id", to_hex(td_id)},
              {"dev_info", to_hex(dev_info)},
              {"init_serv_td_hash", to_hex(init_serv_td_hash)},
              {"init_serv_td_attributes", to_hex(init_serv_td_attributes)},
              {"init_cpu_svn", to_hex(init_cpu_svn)},
              {"init_tee_tcb_svn", to_hex(init_tee_tcb_svn)},
              {"init_tee_fmspc", to_hex(init_tee_fmspc)},
              {"cur_serv_td_hash", to_hex(cur_serv_td_hash)},
              {"cur_serv_td_attributes", to_hex(cur_serv_td_attributes)}};
}

Json decode_td_attributes(const Blob<8>& a) {
  return Json{{"debug", (a[0] & 0x01) != 0},
              {"sept_ve_disable", (a[3] & 0x10) != 0},
              {"pks", (a[3] & 0x40) != 0},
              {"kl", (a[3] & 0x80) != 0},
              {"perfmon", (a[7] & 0x80) != 0}};
}

Json quote_to_json(const Quote& q) {
  Json header{{"version", q.version},
              {"att_key_type", q.att_key_type},
              {"tee_type", fmt::format("0x{:08x}", q.tee_type)},
              {"qe_svn", q.qe_svn},
              {"pce_svn", q.pce_svn},
              {"qe_vendor_id", to_hex(q.qe_vendor_id)},
              {"user_data", to_hex(q.user_data)}};
  Json j{{"size", q.raw.size()}, {"header", header}};
  j["body_descriptor"] = Json{{"type", q.body_type}, {"size", q.body_size}};
  if (q.td) {
    j["td_report"] = q.td->to_json();
    j["td_attributes_decoded"] = decode_td_attributes(q.td->td_attributes);
  }
  if (q.sgx) j["sgx_report"] = q.sgx->to_json();
  j["signed_len"] = q.signed_len;
  j["sig_data_len"] = q.sig_data_len;
  j["signature"] = to_hex(q.signature);
  j["attestation_key"] = to_hex(q.attestation_key);
  if (q.outer_cert_type) j["outer_cert_data_type"] = q.outer_cert_type;
  j["qe_report"] = q.qe_report.to_json();
  j["qe_report_signature"] = to_hex(q.qe_report_signature);
  j["qe_auth_data"] = to_hex(q.qe_auth_data);
  j["cert_data_type"] = q.cert_type;
  j["cert_data_len"] = q.cert_data.size();
  j["trailing_bytes"] = q.trailing_bytes;
  if (q.trailing_nonzero) j["trailing_bytes_nonzero"] = true;
  return j;
}

} // namespace tdx::quote
