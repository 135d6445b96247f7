// Quote parser: bytes -> Quote, by the layouts of QUOTE-VERIFY-SPEC.md §2.
//
// Every read goes through Reader::take, which checks the remaining length
// first, so a truncated or lying quote becomes an error naming the field and
// its byte offset, never an out-of-bounds read (this file is fuzzed:
// tests/fuzz/quote_shim.cpp, scripts/fuzz quote). Bytes after the signature data are
// padding from QGS/configfs buffers and are accepted, as QVL does.
#include "tdxctl/quote/quote.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

constexpr Blob<16> intel_qe_vendor_id{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                      0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

core::Error bad(std::string code, std::string message) {
  return core::Error{core::Category::invalid_input, "quote." + std::move(code),
                     std::move(message), {}};
}

class Reader {
public:
  explicit Reader(std::span<const uint8_t> data) : m_data(data) {}
  size_t pos() const { return m_pos; }
  size_t remaining() const { return m_data.size() - m_pos; }

  core::Result<std::span<const uint8_t>> take(size_t n, std::string_view field) {
    if (n > remaining())
      return std::unexpected(bad(
          "truncated", fmt::format("quote truncated: {} at byte offset {} needs {} bytes, only {} "
                                   "remain (quote is {} bytes)",
                                   field, m_pos, n, remaining(), m_data.size())));
    auto out = m_data.subspan(m_pos, n);
    m_pos += n;
    return out;
  }
  template <size_t N> core::Result<Blob<N>> blob(std::string_view field) {
    auto s = take(N, field);
    if (!s) return std::unexpected(s.error());
    Blob<N> out;
    std::memcpy(out.data(), s->data(), N);
    return out;
  }
  core::Result<uint16_t> u16(std::string_view field) {
    auto s = take(2, field);
    if (!s) return std::unexpected(s.error());
    return static_cast<uint16_t>((*s)[0] | ((*s)[1] << 8));
  }
  core::Result<uint32_t> u32(std::string_view field) {
    auto s = take(4, field);
    if (!s) return std::unexpected(s.error());
    return static_cast<uint32_t>((*s)[0]) | (static_cast<uint32_t>((*s)[1]) << 8) |
           (static_cast<uint32_t>((*s)[2]) << 16) | (static_cast<uint32_t>((*s)[3]) << 24);
  }

private:
  std::span<const uint8_t> m_data;
  size_t m_pos = 0;
};

#define Q_TRY(var, expr)                                                                  \
  auto var##_r = (expr);                                                                   \
  if (!var##_r) return std::unexpected(std::move(var##_r.error()));                       \
  auto var = *var##_r

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

EnclaveReport decode_enclave_report(std::span<const uint8_t, enclave_report_size> r) {
  EnclaveReport e;
  std::memcpy(e.cpu_svn.data(), r.data(), 16);
  e.misc_select = le32(r.data() + 16);
  std::memcpy(e.attributes.data(), r.data() + 48, 16);
  std::memcpy(e.mr_enclave.data(), r.data() + 64, 32);
  std::memcpy(e.mr_signer.data(), r.data() + 128, 32);
  e.isv_prod_id = le16(r.data() + 256);
  e.isv_svn = le16(r.data() + 258);
  std::memcpy(e.report_data.data(), r.data() + 320, 64);
  return e;
}

template <size_t N> void copy_at(Blob<N>& out, std::span<const uint8_t> body, size_t off) {
  std::memcpy(out.data(), body.data() + off, N);
}

TdReport decode_td_report(std::span<const uint8_t> b) {
  TdReport t;
  copy_at(t.tee_tcb_svn, b, 0);
  copy_at(t.mr_seam, b, 16);
  copy_at(t.mr_signer_seam, b, 64);
  copy_at(t.seam_attributes, b, 112);
  copy_at(t.td_attributes, b, 120);
  copy_at(t.xfam, b, 128);
  copy_at(t.mr_td, b, 136);
  copy_at(t.mr_config_id, b, 184);
  copy_at(t.mr_owner, b, 232);
  copy_at(t.mr_owner_config, b, 280);
  for (size_t i = 0; i < 4; ++i) copy_at(t.rtmr[i], b, 328 + 48 * i);
  copy_at(t.report_data, b, 520);
  if (b.size() >= td15_size) {
    Blob<16> svn2;
    Blob<48> servicetd;
    copy_at(svn2, b, 584);
    copy_at(servicetd, b, 600);
    t.tee_tcb_svn2 = svn2;
    t.mr_servicetd = servicetd;
  }
  if (b.size() >= td15ex_size) {
    Td15Ex x;
    x.vmid = b[648];
    copy_at(x.td_id, b, 649);
    copy_at(x.dev_info, b, 681);
    copy_at(x.init_serv_td_hash, b, 729);
    copy_at(x.init_serv_td_attributes, b, 777);
    copy_at(x.init_cpu_svn, b, 785);
    copy_at(x.init_tee_tcb_svn, b, 801);
    copy_at(x.init_tee_fmspc, b, 817);
    copy_at(x.cur_serv_td_hash, b, 829);
    copy_at(x.cur_serv_td_attributes, b, 877);
    t.ex = x;
  }
  return t;
}

size_t body_size_for(uint16_t type) {
  switch (type) {
  case 1: return enclave_report_size;
  case 2: return td10_size;
  case 3: return td15_size;
  case 4: return td15ex_size;
  default: return 0;
  }
}

// Every field but `raw`, which the callers fill (copied or moved in).
core::Result<void> parse_fields(std::span<const uint8_t> data, Quote& q) {
  Reader r(data);
  Q_TRY(version, r.u16("header.version"));
  q.version = version;
  if (version < 3 || version > 5)
    return std::unexpected(bad("unsupported_version",
                               fmt::format("header.version at byte offset 0 is {}; expected 3 "
                                           "(SGX), 4 or 5 (TDX)",
                                           version)));
  Q_TRY(akt, r.u16("header.att_key_type"));
  q.att_key_type = akt;
  if (akt != 2)
    return std::unexpected(bad("unsupported_key_type",
                               fmt::format("header.att_key_type at byte offset 2 is {}; expected "
                                           "2 (ECDSA-256-with-P-256)",
                                           akt)));
  Q_TRY(tee, r.u32("header.tee_type"));
  q.tee_type = tee;
  if (tee != tee_type_sgx && tee != tee_type_tdx)
    return std::unexpected(bad("unsupported_tee_type",
                               fmt::format("header.tee_type at byte offset 4 is 0x{:08x}; expected "
                                           "0x00000000 (SGX) or 0x00000081 (TDX)",
                                           tee)));
  if (version == 3 && tee != tee_type_sgx)
    return std::unexpected(bad("unsupported_tee_type",
                               "header.tee_type at byte offset 4 is TDX but version 3 quotes are "
                               "SGX only"));
  if (version == 4 && tee != tee_type_tdx)
    return std::unexpected(bad("unsupported_tee_type",
                               "header.tee_type at byte offset 4 is SGX in a version 4 quote; "
                               "tdxctl accepts SGX only as version 3"));
  Q_TRY(qe_svn, r.u16("header.qe_svn"));
  Q_TRY(pce_svn, r.u16("header.pce_svn"));
  q.qe_svn = qe_svn;
  q.pce_svn = pce_svn;
  Q_TRY(vendor, r.blob<16>("header.qe_vendor_id"));
  q.qe_vendor_id = vendor;
  if (vendor != intel_qe_vendor_id)
    return std::unexpected(bad("unknown_qe_vendor",
                               fmt::format("header.qe_vendor_id at byte offset 12 is {}; expected "
                                           "Intel's 939a7233f79c4ca9940a0db3957f0607",
                                           core::to_hex(vendor))));
  Q_TRY(user_data, r.blob<20>("header.user_data"));
  q.user_data = user_data;

  if (version == 5) {
    Q_TRY(type, r.u16("body_descriptor.type"));
    Q_TRY(size, r.u32("body_descriptor.size"));
    q.body_type = type;
    q.body_size = size;
    bool ok_type = (tee == tee_type_sgx) ? type == 1 : (type == 2 || type == 3 || type == 4);
    if (!ok_type)
      return std::unexpected(bad("unsupported_body_type",
                                 fmt::format("body_descriptor.type at byte offset 48 is {}; "
                                             "expected {}",
                                             type, tee == tee_type_sgx ? "1 (SGX)" : "2 (TD 1.0), 3 (TD 1.5) or 4 (TD 1.5 Ex)")));
    if (size != body_size_for(type))
      return std::unexpected(bad("bad_body_size",
                                 fmt::format("body_descriptor.size at byte offset 50 is {}; body "
                                             "type {} is {} bytes",
                                             size, type, body_size_for(type))));
  } else {
    q.body_type = tee == tee_type_sgx ? 1 : 2;
    q.body_size = static_cast<uint32_t>(body_size_for(q.body_type));
  }
  Q_TRY(body, r.take(q.body_size, q.body_type == 1 ? "enclave report body" : "TD report body"));
  if (q.body_type == 1)
    q.sgx = decode_enclave_report(body.first<enclave_report_size>());
  else
    q.td = decode_td_report(body);
  q.signed_len = r.pos();

  Q_TRY(sig_len, r.u32("sig_data_len"));
  q.sig_data_len = sig_len;
  size_t sig_start = r.pos();
  if (sig_len > r.remaining())
    return std::unexpected(bad("length_overrun",
                               fmt::format("sig_data_len at byte offset {} is {} but only {} "
                                           "bytes follow",
                                           sig_start - 4, sig_len, r.remaining())));
  Reader s(data.first(sig_start + sig_len));
  (void)s.take(sig_start, "");
  Q_TRY(signature, s.blob<64>("signature"));
  q.signature = signature;
  Q_TRY(att_key, s.blob<64>("attestation_key"));
  q.attestation_key = att_key;

  size_t cert_end = sig_start + sig_len; // where the (outer) certification data must end
  if (version >= 4) {
    size_t type_off = s.pos();
    Q_TRY(outer_type, s.u16("certification_data.type"));
    q.outer_cert_type = outer_type;
    if (outer_type != 6)
      return std::unexpected(bad("unsupported_cert_type",
                                 fmt::format("certification_data.type at byte offset {} is {}; "
                                             "expected 6 (QE report certification data)",
                                             type_off, outer_type)));
    Q_TRY(outer_size, s.u32("certification_data.size"));
    if (outer_size != s.remaining())
      return std::unexpected(bad("length_mismatch",
                                 fmt::format("certification_data.size at byte offset {} is {} but "
                                             "the signature data holds {} more bytes",
                                             type_off + 2, outer_size, s.remaining())));
  }
  q.qe_report_offset = s.pos();
  Q_TRY(qe_report, s.take(enclave_report_size, "qe_report"));
  q.qe_report = decode_enclave_report(qe_report.first<enclave_report_size>());
  Q_TRY(qe_sig, s.blob<64>("qe_report_signature"));
  q.qe_report_signature = qe_sig;
  Q_TRY(auth_len, s.u16("qe_auth_data.size"));
  Q_TRY(auth, s.take(auth_len, "qe_auth_data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  size_t inner_off = s.pos();
  Q_TRY(cert_type, s.u16("pck_cert_data.type"));
  q.cert_type = cert_type;
  if (cert_type < 1 || cert_type > 5)
    return std::unexpected(bad("unsupported_cert_type",
                               fmt::format("pck_cert_data.type at byte offset {} is {}; expected "
                                           "1-5 (5 = PCK certificate chain)",
                                           inner_off, cert_type)));
  Q_TRY(cert_len, s.u32("pck_cert_data.size"));
  if (cert_len != s.remaining())
    return std::unexpected(bad("length_mismatch",
                               fmt::format("pck_cert_data.size at byte offset {} is {} but {} "
                                           "bytes of certification data remain",
                                           inner_off + 2, cert_len, s.remaining())));
  Q_TRY(cert, s.take(cert_len, "pck_cert_data"));
  q.cert_data.assign(reinterpret_cast<const char*>(cert.data()), cert.size());
  if (cert_type == 5)
    while (!q.cert_data.empty() && q.cert_data.back() == '\0') q.cert_data.pop_back();

  q.trailing_bytes = data.size() - cert_end;
  q.trailing_nonzero = std::any_of(data.begin() + static_cast<std::ptrdiff_t>(cert_end),
                                   data.end(), [](uint8_t b) { return b != 0; });
  return {};
}

} // namespace

core::Result<Quote> parse_quote(std::span<const uint8_t> data) {
  Quote q;
  if (auto ok = parse_fields(data, q); !ok) return std::unexpected(std::move(ok.error()));
  q.raw.assign(data.begin(), data.end());
  return q;
}

core::Result<Quote> parse_quote(Bytes&& data) {
  Quote q;
  if (auto ok = parse_fields(data, q); !ok) return std::unexpected(std::move(ok.error()));
  q.raw = std::move(data); // a batch decodes each quote once: no second ~8 KB copy
  return q;
}

core::Result<InputFormat> parse_input_format(std::string_view name) {
  if (name == "auto") return InputFormat::automatic;
  if (name == "binary") return InputFormat::binary;
  if (name == "base64") return InputFormat::base64;
  if (name == "hex") return InputFormat::hex;
  return core::fail(core::Category::usage, "quote.bad_format",
                    fmt::format("unknown quote format '{}'; expected auto, binary, base64 or hex",
                                name));
}

core::Result<Bytes> decode_quote_input(std::string_view content, InputFormat format) {
  if (format == InputFormat::automatic) {
    // A binary quote starts with version 3..5 as a u16 LE: "\x03\0".."\x05\0",
    // which no text encoding produces.
    if (content.size() >= 2 && content[0] >= 3 && content[0] <= 5 && content[1] == 0)
      format = InputFormat::binary;
    else {
      bool all_hex = !content.empty();
      for (char c : content)
        if (!std::isxdigit(static_cast<unsigned char>(c)) && !std::isspace(static_cast<unsigned char>(c))) {
          all_hex = false;
          break;
        }
      format = all_hex ? InputFormat::hex : InputFormat::base64;
    }
  }
  if (format == InputFormat::binary) { // as bytes, so the copy is one memcpy, not a converting loop
    const auto* p = reinterpret_cast<const uint8_t*>(content.data());
    return Bytes(p, p + content.size());
  }
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }; // isspace in the C locale, inline
  // A JSON string (the guest attestation service's /tdx/quote answer) is base64 in quotes.
  auto unquote = [](std::string_view text) {
    return text.size() >= 2 && text.front() == '"' && text.back() == '"' ? text.substr(1, text.size() - 2) : text;
  };
  if (format == InputFormat::hex) {
    std::string stripped;
    std::ranges::copy_if(content, std::back_inserter(stripped), [&](char c) { return !is_space(c); });
    return core::from_hex(unquote(stripped), "hex quote");
  }
  // Base64 skips whitespace itself, so only the ends are trimmed here: no
  // pass over a JSON-lines quote's ~6.6 KB of digits that finds none. A bad
  // character is named at its byte offset in the input as given.
  std::string_view text = content;
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  text = unquote(text);
  return core::base64_decode(text, "base64 quote", static_cast<size_t>(text.data() - content.data()));
}

} // namespace tdx::quote
