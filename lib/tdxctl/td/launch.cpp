// td::launch: the order of a launch lives here once. The connection is opened
// before the preflight so that an unreachable libvirt is reported first (it is
// the one problem no other check can explain), and the domain is rendered
// for the connection's own domain type (kvm, or test under test:///).
#include "tdxctl/td/launch.hpp"

#include "tdxctl/td/connection.hpp"

namespace tdx::td {

Launch launch(const core::Root& root, core::ProcessRunner& probe, const LaunchRequest& request) {
  auto conn = Connection::open(request.checks.connect_uri);
  Launch out;
  if (auto pre = preflight(root, probe, request.spec, request.checks); !pre) {
    if (!request.preflight_may_wait) throw core::Failure(pre.error());
    out.waiting = pre.error().message;
  }
  out.domain = core::value_or_throw(
      prepare_domain(root, request.spec, conn->domain_type(), request.config_source));
  out.plan = plan_launch(conn, out.domain, request.autostart);
  return out;
}

} // namespace tdx::td
