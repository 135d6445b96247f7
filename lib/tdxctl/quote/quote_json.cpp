// The JSON view of a parsed quote: every header, body and signature-data
// field in lowercase hex, TDATTRIBUTES decoded by name. Field names follow
// tests/data/quotes/*/expected.json so the two can be compared.
#include "tdxctl/quote/quote.hpp"

#include <fmt/format.h>

namespace tdx::quote {

using core::Json;
using core::to_hex;

void EnclaveReport::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .hex_field("cpu_svn", cpu_svn)
      .field("misc_select", misc_select)
      .hex_field("attributes", attributes)
      .hex_field("mr_enclave", mr_enclave)
      .hex_field("mr_signer", mr_signer)
      .field("isv_prod_id", isv_prod_id)
      .field("isv_svn", isv_svn)
      .hex_field("report_data", report_data)
      .field("debug", (attributes[0] & 0x02) != 0)
      .end_object();
}

void TdReport::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .hex_field("tee_tcb_svn", tee_tcb_svn)
      .hex_field("mr_seam", mr_seam)
      .hex_field("mr_signer_seam", mr_signer_seam)
      .hex_field("seam_attributes", seam_attributes)
      .hex_field("td_attributes", td_attributes)
      .hex_field("xfam", xfam)
      .hex_field("mr_td", mr_td)
      .hex_field("mr_config_id", mr_config_id)
      .hex_field("mr_owner", mr_owner)
      .hex_field("mr_owner_config", mr_owner_config)
      .hex_field("rtmr0", rtmr[0])
      .hex_field("rtmr1", rtmr[1])
      .hex_field("rtmr2", rtmr[2])
      .hex_field("rtmr3", rtmr[3])
      .hex_field("report_data", report_data);
  if (tee_tcb_svn2) w.hex_field("tee_tcb_svn2", *tee_tcb_svn2);
  if (mr_servicetd) w.hex_field("mr_servicetd", *mr_servicetd);
  if (ex) ex->write_json(w.key("td15ex"));
  w.end_object();
}

void Td15Ex::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .field("vmid", vmid)
      .hex_field("td_id", td_id)
      .hex_field("dev_info", dev_info)
      .hex_field("init_serv_td_hash", init_serv_td_hash)
      .hex_field("init_serv_td_attributes", init_serv_td_attributes)
      .hex_field("init_cpu_svn", init_cpu_svn)
      .hex_field("init_tee_tcb_svn", init_tee_tcb_svn)
      .hex_field("init_tee_fmspc", init_tee_fmspc)
      .hex_field("cur_serv_td_hash", cur_serv_td_hash)
      .hex_field("cur_serv_td_attributes", cur_serv_td_attributes)
      .end_object();
}

void write_td_attributes(core::JsonWriter& w, const Blob<8>& a) {
  w.begin_object()
      .field("debug", (a[0] & 0x01) != 0)
      .field("sept_ve_disable", (a[3] & 0x10) != 0)
      .field("pks", (a[3] & 0x40) != 0)
      .field("kl", (a[3] & 0x80) != 0)
      .field("perfmon", (a[7] & 0x80) != 0)
      .end_object();
}

Json EnclaveReport::to_json() const { return core::json_from([&](core::JsonWriter& w) { write_json(w); }); }
Json TdReport::to_json() const { return core::json_from([&](core::JsonWriter& w) { write_json(w); }); }
Json decode_td_attributes(const Blob<8>& a) {
  return core::json_from([&](core::JsonWriter& w) { write_td_attributes(w, a); });
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
