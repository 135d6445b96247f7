#pragma once
// policy.yaml: the quote appraisal policy as a file (host slice, because it
// needs yaml-cpp; the guest-slice Policy it fills lives in quote/policy.hpp).

#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/verify_settings.hpp"

#include <filesystem>
#include <string_view>

namespace tdx::policy {

// Throws Failure(invalid_input) listing every bad key as file:line:col.
quote::Policy load_policy(const std::filesystem::path& path);
quote::Policy parse_policy(std::string_view text, const std::string& name);

// The appraisal `settings` ask for: its policy file (if any), then --accept
// and --allow-debug over it. Throws as load_policy does.
quote::Policy appraisal_policy(const quote::VerifySettings& settings);

} // namespace tdx::policy
