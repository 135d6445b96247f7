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
      .field("cpu_svn", to_hex(cpu_svn))
      .field("misc_select", misc_select)
      .field("attributes", to_hex(attributes))
      .field("mr_enclave", to_hex(mr_enclave))
      .field("mr_signer", to_hex(mr_signer))
      .field("isv_prod_id", isv_prod_id)
      .field("isv_svn", isv_svn)
      .field("report_data", to_hex(report_data))
      .field("debug", (attributes[0] & 0x02) != 0)
      .end_object();
}

void TdReport::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .field("tee_tcb_svn", to_hex(tee_tcb_svn))
      .field("mr_seam", to_hex(mr_seam))
      .field("mr_signer_seam", to_hex(mr_signer_seam))
      .field("seam_attributes", to_hex(seam_attributes))
      .field("td_attributes", to_hex(td_attributes))
      .field("xfam", to_hex(xfam))
      .field("mr_td", to_hex(mr_td))
      .field("mr_config_id", to_hex(mr_config_id))
      .field("mr_owner", to_hex(mr_owner))
      .field("mr_owner_config", to_hex(mr_owner_config))
      .field("rtmr0", to_hex(rtmr[0]))
      .field("rtmr1", to_hex(rtmr[1]))
      .field("rtmr2", to_hex(rtmr[2]))
      .field("rtmr3", to_hex(rtmr[3]))
      .field("report_data", to_hex(report_data));
  if (tee_tcb_svn2) w.field("tee_tcb_svn2", to_hex(*tee_tcb_svn2));
  if (mr_servicetd) w.field("mr_servicetd", to_hex(*mr_servicetd));
  if (ex) ex->write_json(w.key("td15ex"));
  w.end_object();
}

void Td15Ex::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .field("vmid", vmid)
      .field("td_id", to_hex(td_id))
      .field("dev_info", to_hex(dev_info))
      .field("init_serv_td_hash", to_hex(init_serv_td_hash))
      .field("init_serv_td_attributes", to_hex(init_serv_td_attributes))
      .field("init_cpu_svn", to_hex(init_cpu_svn))
      .field("init_tee_tcb_svn", to_hex(init_tee_tcb_svn))
      .field("init_tee_fmspc", to_hex(init_tee_fmspc))
      .field("cur_serv_td_hash", to_hex(cur_serv_td_hash))
      .field("cur_serv_td_attributes", to_hex(cur_serv_td_attributes))
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
