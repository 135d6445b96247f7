#pragma once
// Intel DCAP collateral: the raw files (PCS v4 response bodies and issuer
// chains, in the layout of tests/data/quotes/README.md, which is also
// the cache layout of `collateral fetch`) and their parsed JSON (TCB info v3,
// QE identity v2), QUOTE-VERIFY-SPEC.md §3.

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/quote.hpp"

#include <array>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::quote {

struct CollateralFiles {
  std::string tcb_info;                 // tcb_info.json
  std::string tcb_info_issuer_chain;    // tcb_info_issuer_chain.pem
  std::string qe_identity;              // qe_identity.json
  std::string qe_identity_issuer_chain; // qe_identity_issuer_chain.pem
  std::string pck_crl;                  // pck_crl.der
  std::string pck_crl_issuer_chain;     // pck_crl_issuer_chain.pem
  std::string root_ca_crl;              // root_ca_crl.der
  std::string source;                   // the directory, for messages
};

// The file names of one collateral set, in the order above.
const std::array<const char*, 7>& collateral_file_names();
core::Result<CollateralFiles> load_collateral_dir(const std::filesystem::path& dir);

// The raw bytes of a top-level member's value in a JSON object text
// ("tcbInfo", "enclaveIdentity"): the signature covers exactly these bytes.
std::optional<std::string_view> raw_json_member(std::string_view body, std::string_view key);

struct TcbLevel {
  std::array<uint16_t, 16> sgx{};
  std::array<uint16_t, 16> tdx{};
  uint16_t pcesvn = 0;
  uint16_t isvsvn = 0; // module identity and QE identity levels
  time_t date = 0;
  std::string status;
  std::vector<std::string> advisories;
};

struct ModuleIdentity {
  std::string id;
  Blob<48> mrsigner{};
  Blob<8> attributes{};
  Blob<8> attributes_mask{};
  std::vector<TcbLevel> levels;
};

struct TcbInfo {
  std::string id; // "TDX" or "SGX"
  int version = 0;
  time_t issue_date = 0;
  time_t next_update = 0;
  Blob<6> fmspc{};
  Blob<2> pce_id{};
  int tcb_type = 0;
  int evaluation_data_number = 0;
  std::optional<ModuleIdentity> tdx_module;
  bool has_module_identities = false;
  std::vector<ModuleIdentity> module_identities;
  std::vector<TcbLevel> levels;
};

struct QeIdentity {
  std::string id;
  int version = 0;
  time_t issue_date = 0;
  time_t next_update = 0;
  int evaluation_data_number = 0;
  Blob<4> miscselect{};
  Blob<4> miscselect_mask{};
  Blob<16> attributes{};
  Blob<16> attributes_mask{};
  Blob<32> mrsigner{};
  uint16_t isvprodid = 0;
  std::vector<TcbLevel> levels;
};

// Parse the `tcbInfo` / `enclaveIdentity` JSON value (raw slice). Errors name
// the key path and `what` (the file).
core::Result<TcbInfo> parse_tcb_info(std::string_view raw, std::string_view what);
core::Result<QeIdentity> parse_qe_identity(std::string_view raw, std::string_view what);

} // namespace tdx::quote
