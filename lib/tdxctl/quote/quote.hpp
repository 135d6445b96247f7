#pragma once
// A parsed Intel DCAP ECDSA quote (v3 SGX, v4 and v5 TDX), field by field as
// QUOTE-VERIFY-SPEC.md §2 lays it out. The parser is strict about declared
// lengths (each overrun is an error naming the field and byte offset) and
// lenient about trailing padding, as every verifier is.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/json_writer.hpp"
#include "tdxctl/core/output.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tdx::quote {

using core::Bytes;
template <size_t N> using Blob = std::array<uint8_t, N>;

inline constexpr uint32_t tee_type_sgx = 0x00000000;
inline constexpr uint32_t tee_type_tdx = 0x00000081;
inline constexpr size_t header_size = 48;
inline constexpr size_t enclave_report_size = 384;
inline constexpr size_t td10_size = 584;
inline constexpr size_t td15_size = 648;
inline constexpr size_t td15ex_size = 885;

// SGX enclave report (the QE report, and the body of SGX quotes).
struct EnclaveReport {
  Blob<16> cpu_svn{};
  uint32_t misc_select = 0;
  Blob<16> attributes{};
  Blob<32> mr_enclave{};
  Blob<32> mr_signer{};
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  Blob<64> report_data{};
  core::Json to_json() const;
  void write_json(core::JsonWriter& w) const; // the same object, streamed
};

// TD 1.5 "Ex" body (type 4, 885 bytes, QVL-2026 TDReport15Ex): the TD 1.5
// body followed by the TD-preserving endorsements. Parsed and shown; not yet
// verified (no real type-4 quote exists to test against, spec §2.3).
struct Td15Ex {
  uint8_t vmid = 0;
  Blob<32> td_id{};
  Blob<48> dev_info{};
  Blob<48> init_serv_td_hash{};
  Blob<8> init_serv_td_attributes{};
  Blob<16> init_cpu_svn{};
  Blob<16> init_tee_tcb_svn{};
  Blob<12> init_tee_fmspc{};
  Blob<48> cur_serv_td_hash{};
  Blob<8> cur_serv_td_attributes{};
  void write_json(core::JsonWriter& w) const;
};

// TD report body: TD 1.0 (584 bytes), TD 1.5 adds TEE_TCB_SVN2 and MRSERVICETD.
struct TdReport {
  Blob<16> tee_tcb_svn{};
  Blob<48> mr_seam{};
  Blob<48> mr_signer_seam{};
  Blob<8> seam_attributes{};
  Blob<8> td_attributes{};
  Blob<8> xfam{};
  Blob<48> mr_td{};
  Blob<48> mr_config_id{};
  Blob<48> mr_owner{};
  Blob<48> mr_owner_config{};
  std::array<Blob<48>, 4> rtmr{};
  Blob<64> report_data{};
  std::optional<Blob<16>> tee_tcb_svn2; // TD 1.5
  std::optional<Blob<48>> mr_servicetd; // TD 1.5
  std::optional<Td15Ex> ex;             // TD 1.5 Ex (body type 4)
  bool debug() const { return td_attributes[0] & 0x01; }
  core::Json to_json() const;
  void write_json(core::JsonWriter& w) const; // the same object, streamed
};

// TDATTRIBUTES bits by name (spec §2.6).
core::Json decode_td_attributes(const Blob<8>& attributes);
void write_td_attributes(core::JsonWriter& w, const Blob<8>& attributes);

struct Quote {
  // Header.
  uint16_t version = 0;
  uint16_t att_key_type = 0;
  uint32_t tee_type = 0;
  uint16_t qe_svn = 0;
  uint16_t pce_svn = 0;
  Blob<16> qe_vendor_id{};
  Blob<20> user_data{};
  // Body: type 1 SGX, 2 TD 1.0, 3 TD 1.5 (v4 implies 2 for TDX, v3 implies 1).
  uint16_t body_type = 0;
  uint32_t body_size = 0;
  std::optional<TdReport> td;
  std::optional<EnclaveReport> sgx;
  // Signature data.
  size_t signed_len = 0; // the quote signature covers bytes [0, signed_len)
  uint32_t sig_data_len = 0;
  Blob<64> signature{};
  Blob<64> attestation_key{};
  uint16_t outer_cert_type = 0; // 6 for v4/v5; 0 (none) for v3
  EnclaveReport qe_report;
  size_t qe_report_offset = 0; // the 384 signed bytes
  Blob<64> qe_report_signature{};
  Bytes qe_auth_data;
  uint16_t cert_type = 0; // 5 = PEM PCK chain
  std::string cert_data;  // for type 5: the PEM text, trailing NULs stripped
  size_t trailing_bytes = 0;
  bool trailing_nonzero = false;

  Bytes raw; // the whole input, padding included

  bool is_tdx() const { return tee_type == tee_type_tdx; }
  std::span<const uint8_t> signed_region() const { return {raw.data(), signed_len}; }
  std::span<const uint8_t> qe_report_bytes() const {
    return {raw.data() + qe_report_offset, enclave_report_size};
  }
};

// Parses a binary quote. Errors are invalid_input with code quote.* and a
// message naming the field and its byte offset.
core::Result<Quote> parse_quote(std::span<const uint8_t> data);
// The same, keeping `data` as the quote's raw bytes instead of a copy.
core::Result<Quote> parse_quote(Bytes&& data);

enum class InputFormat { automatic, binary, base64, hex };
core::Result<InputFormat> parse_input_format(std::string_view name);
// Turns file content into quote bytes: raw binary, or base64/hex text
// (whitespace allowed), detected from the first bytes unless forced.
core::Result<Bytes> decode_quote_input(std::string_view content, InputFormat format);

// Every decoded field, for `quote show -o json` (PCK details added by the caller).
core::Json quote_to_json(const Quote& quote);

} // namespace tdx::quote
