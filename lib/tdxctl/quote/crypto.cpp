// OpenSSL glue for quote verification. Raw r||s signatures are converted to
// DER ECDSA-Sig-Value and checked with EVP_PKEY_verify over a SHA-256
// digest; the SGX extension of the PCK certificate is walked with OpenSSL's
// ASN.1 decoders (d2i_ASN1_SEQUENCE_ANY), never by hand, as CONVENTIONS §13
// asks. Everything here is thread-safe: batch verification runs it on all
// cores at once.
#include "tdxctl/quote/crypto.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/root.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

core::Error bad(std::string code, std::string message) {
  return core::Error{core::Category::invalid_input, std::move(code), std::move(message), {}};
}

struct BioDeleter { void operator()(BIO* p) const { BIO_free(p); } };
struct OsslFree { void operator()(void* p) const { OPENSSL_free(p); } };
struct SeqDeleter {
  void operator()(ASN1_SEQUENCE_ANY* p) const { sk_ASN1_TYPE_pop_free(p, ASN1_TYPE_free); }
};
using SeqPtr = std::unique_ptr<ASN1_SEQUENCE_ANY, SeqDeleter>;

SeqPtr decode_seq(const unsigned char* der, long len) {
  const unsigned char* p = der;
  return SeqPtr(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, len));
}

// The SGX extension's OIDs are 1.2.840.113741.1.13.1[.a[.b]] with one-byte
// arcs; they are matched on their DER content, not as dotted text.
constexpr unsigned char sgx_oid_der[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

// The arcs of `obj` after the SGX extension OID (empty when it is not under it).
std::span<const unsigned char> sgx_arcs(const ASN1_OBJECT* obj) {
  size_t len = OBJ_length(obj);
  const unsigned char* der = OBJ_get0_data(obj);
  if (!der || len < sizeof sgx_oid_der || std::memcmp(der, sgx_oid_der, sizeof sgx_oid_der) != 0) return {};
  return {der + sizeof sgx_oid_der, len - sizeof sgx_oid_der};
}

template <size_t N> bool octets(const ASN1_TYPE* t, Blob<N>& out) {
  if (t->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(t->value.octet_string) != N)
    return false;
  std::memcpy(out.data(), ASN1_STRING_get0_data(t->value.octet_string), N);
  return true;
}

bool small_int(const ASN1_TYPE* t, uint16_t& out) {
  if (t->type != V_ASN1_INTEGER) return false;
  long v = ASN1_INTEGER_get(t->value.integer);
  if (v < 0 || v > 0xffff) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// Iterates a SEQUENCE of SEQUENCE{OID, value} and calls fn(arcs below the
// SGX extension OID, value).
template <class Fn> bool each_pair(const ASN1_SEQUENCE_ANY* seq, Fn&& fn) {
  for (int i = 0; i < sk_ASN1_TYPE_num(seq); ++i) {
    const ASN1_TYPE* item = sk_ASN1_TYPE_value(seq, i);
    if (item->type != V_ASN1_SEQUENCE) return false;
    auto pair = decode_seq(ASN1_STRING_get0_data(item->value.sequence),
                           ASN1_STRING_length(item->value.sequence));
    if (!pair || sk_ASN1_TYPE_num(pair.get()) != 2) return false;
    const ASN1_TYPE* oid = sk_ASN1_TYPE_value(pair.get(), 0);
    if (oid->type != V_ASN1_OBJECT) return false;
    if (!fn(sgx_arcs(oid->value.object), sk_ASN1_TYPE_value(pair.get(), 1))) return false;
  }
  return true;
}

} // namespace

core::Result<std::vector<X509Ptr>> load_pem_chain(std::string_view pem, std::string_view what, X509* known,
                                                  std::span<const uint8_t> known_der) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  auto invalid = [&](std::string why) {
    ERR_clear_error();
    return std::unexpected(bad("quote.bad_certificate",
                               fmt::format("{}: certificate {} {}", what, out.size() + 1, why)));
  };
  while (true) {
    // The PEM layer only (base64 to DER): the DER is compared with `known`
    // before anything is decoded.
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &der, &len) != 1) break;
    std::unique_ptr<char, OsslFree> name_owner(name), header_owner(header);
    std::unique_ptr<unsigned char, OsslFree> der_owner(der);
    std::string_view label(name);
    if (label != PEM_STRING_X509 && label != PEM_STRING_X509_OLD)
      return invalid(fmt::format("is a PEM '{}' block, not a CERTIFICATE", label));
    if (header && *header) return invalid("has PEM headers (an encrypted or annotated block)");
    std::span<const uint8_t> bytes(der, static_cast<size_t>(len));
    if (known && std::ranges::equal(bytes, known_der)) {
      X509_up_ref(known);
      out.emplace_back(known);
      continue;
    }
    const unsigned char* p = der;
    X509Ptr cert(d2i_X509(nullptr, &p, len));
    if (!cert) return invalid("is not valid DER");
    if (p != der + len) return invalid(fmt::format("has {} bytes after its DER", der + len - p));
    out.push_back(std::move(cert));
  }
  unsigned long err = ERR_peek_last_error();
  bool clean_eof = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (!clean_eof && err != 0) return invalid("is not valid PEM");
  if (out.empty())
    return std::unexpected(bad("quote.bad_certificate", fmt::format("{}: no PEM certificate found", what)));
  return out;
}

core::Result<X509Ptr> load_der_cert(std::span<const uint8_t> der, std::string_view what) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return std::unexpected(bad("quote.bad_certificate", fmt::format("{}: not a DER certificate", what)));
  return cert;
}

core::Result<CrlPtr> load_crl(std::string_view data, std::string_view what) {
  if (data.starts_with("-----BEGIN")) {
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!crl) return std::unexpected(bad("quote.bad_crl", fmt::format("{}: not a PEM CRL", what)));
    return crl;
  }
  Bytes hexed;
  std::string_view der = data;
  if (!data.empty() && data[0] != 0x30) { // PCCS serves the root CRL as hex text
    auto decoded = core::from_hex(core::trim(data), what);
    if (!decoded)
      return std::unexpected(bad("quote.bad_crl", fmt::format("{}: neither DER, PEM nor hex of a CRL", what)));
    hexed = std::move(*decoded);
    der = {reinterpret_cast<const char*>(hexed.data()), hexed.size()};
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (!crl) return std::unexpected(bad("quote.bad_crl", fmt::format("{}: not a DER CRL", what)));
  return crl;
}

PkeyPtr p256_key_from_raw(std::span<const uint8_t, 64> xy) {
  // A P-256 parameters-only key, duplicated and given the point: a third of
  // the cost of EVP_PKEY_fromdata (no algorithm fetch per key). Setting the
  // point checks that it is on the curve.
  static const PkeyPtr group = [] {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("prime256v1"), 0),
        OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* key = nullptr;
    if (ctx && EVP_PKEY_fromdata_init(ctx) > 0) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEY_PARAMETERS, params);
    EVP_PKEY_CTX_free(ctx);
    return PkeyPtr(key);
  }();
  unsigned char point[65];
  point[0] = 0x04;
  std::memcpy(point + 1, xy.data(), 64);
  PkeyPtr key(group ? EVP_PKEY_dup(group.get()) : nullptr);
  if (key && EVP_PKEY_set1_encoded_public_key(key.get(), point, sizeof point) != 1) key.reset();
  ERR_clear_error();
  return key;
}

Blob<32> sha256(std::span<const uint8_t> data) {
  // SHA256() looks the algorithm up in OpenSSL's method store on every call
  // (a shared lock the workers of a batch contend on) and allocates a
  // context; here it is fetched once, and each thread keeps its context.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  Blob<32> out;
  unsigned int len = 0;
  if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1)
    SHA256(data.data(), data.size(), out.data()); // out of memory: the one-shot way
  return out;
}

namespace {

// A verify context set up for key; null on failure.
EVP_PKEY_CTX* verify_context(EVP_PKEY* key) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  if (!ctx || EVP_PKEY_verify_init(ctx) <= 0) {
    EVP_PKEY_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

struct VerifyContext {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  ~VerifyContext() { EVP_PKEY_CTX_free(ctx); }
};

// This thread's verify context for key (see Reuse::kept); null on failure.
EVP_PKEY_CTX* kept_context(EVP_PKEY* key) {
  thread_local VerifyContext last;
  if (last.key == key && last.ctx) return last.ctx;
  EVP_PKEY_CTX* ctx = verify_context(key);
  if (!ctx) return nullptr;
  EVP_PKEY_CTX_free(last.ctx);
  last.key = key;
  last.ctx = ctx;
  return ctx;
}

// The last few P-256 keys this thread made from raw bytes, each with its
// verify context (see verify_raw_ecdsa_p256). A handful covers a batch from
// one platform and a verifier that takes turns between a few.
struct RawKeyContext {
  std::array<uint8_t, 64> xy{};
  PkeyPtr key;
  EVP_PKEY_CTX* ctx = nullptr;
  ~RawKeyContext() { EVP_PKEY_CTX_free(ctx); }
};
constexpr size_t k_raw_keys = 4;

// This thread's verify context for the key xy; null when xy is not a point
// on the curve (nothing is kept for it then).
EVP_PKEY_CTX* kept_raw_context(std::span<const uint8_t, 64> xy) {
  thread_local std::array<RawKeyContext, k_raw_keys> kept;
  thread_local size_t next = 0;
  for (auto& k : kept)
    if (k.ctx && std::equal(xy.begin(), xy.end(), k.xy.begin())) return k.ctx;
  PkeyPtr key = p256_key_from_raw(xy);
  EVP_PKEY_CTX* ctx = key ? verify_context(key.get()) : nullptr;
  if (!ctx) return nullptr;
  RawKeyContext& slot = kept[next];
  next = (next + 1) % k_raw_keys;
  EVP_PKEY_CTX_free(slot.ctx);
  std::copy(xy.begin(), xy.end(), slot.xy.begin());
  slot.key = std::move(key);
  slot.ctx = ctx;
  return ctx;
}

// Appends the DER INTEGER of a 32-byte big-endian unsigned value: leading
// zero bytes dropped, one 0x00 put back when the top bit is set (DER's
// minimal two's complement; OpenSSL re-encodes what it decodes and refuses a
// signature whose DER is not exactly that).
unsigned char* der_integer(unsigned char* out, std::span<const uint8_t, 32> value) {
  size_t skip = 0;
  while (skip < 31 && value[skip] == 0) ++skip;
  const bool pad = value[skip] & 0x80;
  *out++ = 0x02;
  *out++ = static_cast<unsigned char>(32 - skip + pad);
  if (pad) *out++ = 0x00;
  return std::copy(value.begin() + static_cast<std::ptrdiff_t>(skip), value.end(), out);
}

// ECDSA over message with a raw r||s signature, under a context set up for
// verification. The signature's DER (SEQUENCE { INTEGER r, INTEGER s },
// at most 72 bytes) is written here: through ECDSA_SIG and two BIGNUMs it
// took four allocations and ~13,000 instructions a signature (callgrind),
// two signatures a quote.
bool verify_with(EVP_PKEY_CTX* ctx, std::span<const uint8_t> message, std::span<const uint8_t, 64> signature) {
  unsigned char der[2 + 2 * 35];
  unsigned char* end = der_integer(der + 2, signature.first<32>());
  end = der_integer(end, signature.last<32>());
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(end - der - 2);
  auto digest = sha256(message);
  bool ok = EVP_PKEY_verify(ctx, der, static_cast<size_t>(end - der), digest.data(), digest.size()) == 1;
  ERR_clear_error();
  return ok;
}

} // namespace

bool verify_raw_ecdsa(EVP_PKEY* key, std::span<const uint8_t> message,
                      std::span<const uint8_t, 64> signature, Reuse reuse) {
  if (!key) return false;
  if (reuse == Reuse::kept) {
    EVP_PKEY_CTX* ctx = kept_context(key);
    if (ctx) return verify_with(ctx, message, signature);
    ERR_clear_error();
    return false;
  }
  EVP_PKEY_CTX* ctx = verify_context(key);
  bool ok = ctx && verify_with(ctx, message, signature);
  EVP_PKEY_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

std::optional<bool> verify_raw_ecdsa_p256(std::span<const uint8_t, 64> xy, std::span<const uint8_t> message,
                                          std::span<const uint8_t, 64> signature, Reuse reuse) {
  if (reuse == Reuse::kept) {
    EVP_PKEY_CTX* ctx = kept_raw_context(xy);
    ERR_clear_error();
    if (!ctx) return std::nullopt;
    return verify_with(ctx, message, signature);
  }
  PkeyPtr key = p256_key_from_raw(xy);
  if (!key) return std::nullopt;
  return verify_raw_ecdsa(key.get(), message, signature);
}

std::string common_name(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string subject_cn(const X509* cert) { return common_name(X509_get_subject_name(cert)); }

Bytes spki_der(const X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  Bytes out;
  if (len > 0) out.assign(der, der + len);
  OPENSSL_free(der);
  return out;
}

Bytes cert_der(const X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  Bytes out;
  if (len > 0) out.assign(der, der + len);
  OPENSSL_free(der);
  return out;
}

void PckInfo::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .hex_field("fmspc", fmspc)
      .hex_field("pce_id", pce_id)
      .field("ca", ca)
      .field("pcesvn", pcesvn)
      .hex_field("cpusvn", cpusvn)
      .key("sgx_tcb_components")
      .begin_array();
  for (auto c : sgx_components) w.value(c);
  w.end_array().hex_field("ppid", ppid).field("sgx_type", sgx_type).end_object();
}

core::Json PckInfo::to_json() const {
  return core::json_from([&](core::JsonWriter& w) { write_json(w); });
}

core::Result<PckInfo> read_pck_info(X509* pck) {
  auto fail_ext = [](std::string detail) {
    return std::unexpected(bad("quote.bad_pck_extension",
                               "PCK certificate SGX extension (1.2.840.113741.1.13.1): " + detail));
  };
  int idx = -1;
  for (int i = 0; i < X509_get_ext_count(pck) && idx < 0; ++i) {
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(X509_get_ext(pck, i));
    if (OBJ_length(obj) == sizeof sgx_oid_der && OBJ_get0_data(obj) &&
        std::memcmp(OBJ_get0_data(obj), sgx_oid_der, sizeof sgx_oid_der) == 0)
      idx = i;
  }
  if (idx < 0) return fail_ext("missing");
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
  auto top = decode_seq(ASN1_STRING_get0_data(data), ASN1_STRING_length(data));
  if (!top) return fail_ext("not a DER SEQUENCE");
  PckInfo info;
  bool have_fmspc = false, have_pceid = false, have_tcb = false;
  std::string problem;
  auto arc = [](std::span<const unsigned char> arcs, unsigned char a) { return arcs.size() == 1 && arcs[0] == a; };
  bool ok = each_pair(top.get(), [&](std::span<const unsigned char> oid, const ASN1_TYPE* v) {
    if (arc(oid, 1)) return octets(v, info.ppid) || (problem = "PPID", false);
    if (arc(oid, 3)) return (have_pceid = octets(v, info.pce_id)) || (problem = "PCE-ID", false);
    if (arc(oid, 4)) return (have_fmspc = octets(v, info.fmspc)) || (problem = "FMSPC", false);
    if (arc(oid, 5)) {
      if (v->type == V_ASN1_ENUMERATED) info.sgx_type = static_cast<int>(ASN1_ENUMERATED_get(v->value.enumerated));
      return true;
    }
    if (arc(oid, 2)) {
      if (v->type != V_ASN1_SEQUENCE) return (problem = "TCB", false);
      auto tcb = decode_seq(ASN1_STRING_get0_data(v->value.sequence), ASN1_STRING_length(v->value.sequence));
      if (!tcb) return (problem = "TCB", false);
      int seen = 0;
      bool tcb_ok = each_pair(tcb.get(), [&](std::span<const unsigned char> sub, const ASN1_TYPE* tv) {
        // 1.2.840.113741.1.13.1.2.N: N = 1..16 SGX components, 17 PCESVN, 18 CPUSVN.
        if (sub.size() != 2 || sub[0] != 2) return true;
        int n = sub[1];
        if (n >= 1 && n <= 16) {
          ++seen;
          return small_int(tv, info.sgx_components[static_cast<size_t>(n - 1)]);
        }
        if (n == 17) { ++seen; return small_int(tv, info.pcesvn); }
        if (n == 18) return octets(tv, info.cpusvn);
        return true;
      });
      if (!tcb_ok || seen != 17) return (problem = "TCB", false);
      have_tcb = true;
      return true;
    }
    return true; // .6 PlatformInstanceID, .7 Configuration: not needed to verify
  });
  if (!ok) return fail_ext(problem.empty() ? "malformed" : "malformed " + problem);
  if (!have_fmspc || !have_pceid || !have_tcb)
    return fail_ext(!have_fmspc ? "FMSPC missing" : !have_pceid ? "PCE-ID missing" : "TCB missing");
  std::string issuer = common_name(X509_get_issuer_name(pck));
  info.ca = issuer.find("Platform") != std::string::npos    ? "platform"
            : issuer.find("Processor") != std::string::npos ? "processor"
                                                            : "unknown";
  return info;
}

namespace {

// timegm and gmtime_r take glibc's time-zone lock on every call, even for
// UTC: with reports rendered and certificates dated on every worker, the
// lock was a point where `quote verify -j N` workers queued. Calendar
// arithmetic (std::chrono) needs no lock and gives the same answer for
// every UTC time.
time_t utc_seconds(const struct tm& tm) {
  using namespace std::chrono;
  const sys_days day = year(tm.tm_year + 1900) / month(static_cast<unsigned>(tm.tm_mon + 1)) /
                       std::chrono::day(static_cast<unsigned>(tm.tm_mday));
  return static_cast<time_t>((day + hours(tm.tm_hour) + minutes(tm.tm_min) + seconds(tm.tm_sec))
                                 .time_since_epoch()
                                 .count());
}

} // namespace

core::Result<time_t> parse_time(std::string_view text, std::string_view what) {
  struct tm tm {};
  std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end && *end == '.')
    while (*++end && std::isdigit(static_cast<unsigned char>(*end))) {}
  if (!end || std::string_view(end) != "Z")
    return std::unexpected(bad("quote.bad_time",
                               fmt::format("{}: '{}' is not an RFC 3339 UTC time "
                                           "(YYYY-MM-DDThh:mm:ssZ)",
                                           what, text)));
  return utc_seconds(tm);
}

TimeText format_time_text(time_t t) {
  using namespace std::chrono;
  const sys_seconds tp{seconds(t)};
  const auto day = floor<days>(tp);
  const year_month_day ymd(day);
  const hh_mm_ss hms(tp - day);
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month()), mday = static_cast<unsigned>(ymd.day());
  const auto hour = static_cast<unsigned>(hms.hours().count()), minute = static_cast<unsigned>(hms.minutes().count()),
             second = static_cast<unsigned>(hms.seconds().count());
  TimeText out;
  if (year < 0 || year > 9999) { // no date a collateral or certificate holds; fmt writes what it always wrote
    auto r = fmt::format_to_n(out.data, sizeof out.data, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", year, month, mday,
                              hour, minute, second);
    out.size = std::min(r.size, sizeof out.data);
    return out;
  }
  char* p = out.data;
  auto put = [&p](unsigned v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += digits;
  };
  put(static_cast<unsigned>(year), 4);
  *p++ = '-';
  put(month, 2);
  *p++ = '-';
  put(mday, 2);
  *p++ = 'T';
  put(hour, 2);
  *p++ = ':';
  put(minute, 2);
  *p++ = ':';
  put(second, 2);
  *p++ = 'Z';
  out.size = static_cast<size_t>(p - out.data);
  return out;
}

std::string format_time(time_t t) { return std::string(format_time_text(t).view()); }

time_t asn1_time_to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return utc_seconds(tm);
}

} // namespace tdx::quote
