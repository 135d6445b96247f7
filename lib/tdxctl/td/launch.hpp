#pragma once
// The one launch sequence, shared by `tdxctl td launch` and the td stage of
// `tdxctl up`: open libvirt, refuse through the preflight, render the domain
// for the connection's domain type, and plan define/start. The two callers
// differ only in what they ask for (LaunchRequest), never in the order.

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/td/domain_xml.hpp"
#include "tdxctl/td/lifecycle.hpp"
#include "tdxctl/td/spec.hpp"

#include <optional>
#include <string>

namespace tdx::td {

struct LaunchRequest {
  TdSpec spec;
  std::string config_source; // the host.yaml the spec came from (recorded in the XML)
  LaunchChecks checks;       // checks.connect_uri is also the connection opened
  bool autostart = false;
  // `up --dry-run` plans its earlier stages without applying them, so the
  // preflight may refuse only because those have not run yet: then its
  // message is returned in Launch::waiting instead of failing.
  bool preflight_may_wait = false;
};

struct Launch {
  RenderedDomain domain;
  core::Plan plan;
  std::optional<std::string> waiting; // the preflight refusal that was tolerated
};

Launch launch(const core::Root& root, core::ProcessRunner& probe, const LaunchRequest& request);

} // namespace tdx::td
