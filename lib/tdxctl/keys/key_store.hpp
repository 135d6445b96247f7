#pragma once
// The key-release store of `tdxctl keys`: one directory per registered VM,
//   STORE/NAME/key             the LUKS root key (the image build's OUTPUT.key)
//   STORE/NAME/containerd-key  the containerd volume key (optional)
//   STORE/NAME/policy.yaml     the appraisal policy (tdxctl-policy(1) format)
// STORE is 0700 and every file 0600, owned by the service's user; an entry is
// staged in a private temporary directory and renamed into place whole, so
// the service never sees half a registration. Everything is opened with
// O_NOFOLLOW below the store's own descriptor, and VM names are validated
// before they become a path.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/quote/policy.hpp"

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::keys {

inline constexpr const char* k_default_store = "/var/lib/tdxctl/keys";

// A VM name as the guest sends it (tdxctl-unlock(1): the hostname cut at the
// first character outside [A-Za-z0-9_-]): 1-64 of those characters.
core::Result<void> check_vm_name(std::string_view name);

struct Registration {
  std::string name;
  core::Secret key;
  std::optional<core::Secret> containerd_key;
  std::string policy_yaml;            // the policy file's text, stored as given
  std::filesystem::path policy_file;  // for messages
};

// Validates a registration before anything is written: the name, keys that
// can travel in the JSON response, and a policy that parses and pins no
// REPORTDATA (the service binds REPORTDATA to each request's nonce).
// Failure(invalid_input) naming the flag or file.
void check_registration(const Registration& registration);

struct StoredVm {
  std::string name;
  core::Secret key;
  std::optional<core::Secret> containerd_key;
  quote::Policy policy;
  std::string policy_sha256;
};

struct VmSummary {
  std::string name;
  bool containerd_key = false;
  std::string policy_sha256;
  std::vector<std::string> accept_tcb;
  size_t mr_td_values = 0;
  bool rtmrs_pinned = false;
  bool mr_config_id_pinned = false;
  std::vector<std::string> pinned; // every pinned value (quote::pinned_values): sample evidence fails them
  time_t registered = 0;
  core::Json to_json() const;
};

class KeyStore {
public:
  explicit KeyStore(std::filesystem::path dir) : m_dir(std::move(dir)) {}
  const std::filesystem::path& dir() const { return m_dir; }

  // One step: register (or with Force::yes replace) the VM. Already
  // registered with the same keys and policy: done, nothing to change.
  // A different registration without force fails at apply, naming --force.
  core::Plan plan_add(std::shared_ptr<const Registration> registration, core::Force force) const;
  // One step: remove the VM's entry; done when there is none.
  core::Plan plan_remove(const std::string& name) const;

  // Creates the store (0700) if absent; Failure when it is unusable or not private.
  void ensure() const;
  // Registered VMs, sorted by name; an absent store is empty.
  std::vector<VmSummary> list() const;
  // The VM's keys and parsed policy; nullopt when it is not registered.
  // An entry that is unreadable, loosely permissioned or unparsable is an error.
  core::Result<std::optional<StoredVm>> load(std::string_view name) const;

private:
  std::filesystem::path m_dir;
};

} // namespace tdx::keys
