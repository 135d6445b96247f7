// tdxctl measure acpi|platform|eventlog: inside a TD, capture what `image
// measure` needs from a running TD of a given shape (its ACPI tables, the
// platform inputs of RTMR0) and the TD's own event log. Its own file because
// tdxctl-guest shares it without the host-only verbs.
#include "context.hpp"

#include "tdxctl/capture/platform.hpp"
#include "tdxctl/core/fs.hpp"

#include <fmt/format.h>

namespace tdx::cmd {
namespace {

struct Out {
  std::string file;
  bool force = false;
};

void add_out(CLI::App* sub, Out& out) {
  sub->add_option("--out", out.file, "Write it here")->required()->type_name("FILE");
  sub->add_flag("--force", out.force, "Replace an existing --out file");
}

void write_out(Context& ctx, const Out& out, std::string_view bytes, std::string_view what) {
  core::write_file_atomic(out.file, bytes, 0644, out.force ? core::Force::yes : core::Force::no);
  core::Json doc{{"kind", what}, {"file", out.file}, {"size", bytes.size()}};
  ctx.out().emit("tdxctl.measure.capture/1", doc, [&](std::ostream& os) {
    os << "wrote " << bytes.size() << "-byte " << what << " to " << out.file << "\n";
  });
}

std::string as_string(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

} // namespace

void add_measure_capture(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("measure", "Inside a TD: capture the inputs `tdxctl image measure` needs");
  group->require_subcommand(1);

  auto acpi = std::make_shared<Out>();
  auto* a = group->add_subcommand("acpi", "Write QEMU's ACPI tables blob (fw_cfg etc/acpi/tables) of this TD");
  add_out(a, *acpi);
  a->footer("Capture once per TD shape (vCPUs, devices); `tdxctl image measure --acpi-tables FILE`\n"
            "uses it. Needs the qemu_fw_cfg driver (modprobe qemu_fw_cfg).\n\n"
            "Examples:\n  tdxctl-guest measure acpi --out acpi-tables.bin");
  a->callback([acpi, &ctx] {
    auto bytes = core::value_or_throw(capture::read_fw_cfg(ctx.root(), capture::kAcpiTablesFile));
    write_out(ctx, *acpi, as_string(bytes), "ACPI tables");
  });

  auto platform = std::make_shared<Out>();
  auto* p = group->add_subcommand(
      "platform", "Write every RTMR0 input this TD shows (ACPI files, measured fw_cfg items, boot variables)");
  add_out(p, *platform);
  p->footer("Writes one JSON document (schema tdxctl.platform/1) for\n"
            "`tdxctl image measure --platform FILE`, which then predicts RTMR0 for TDs of this shape.\n\n"
            "Examples:\n  tdxctl-guest measure platform --out platform.json");
  p->callback([platform, &ctx] {
    auto captured = core::value_or_throw(capture::read_platform(ctx.root()));
    write_out(ctx, *platform, capture::platform_to_json(captured).dump(2) + "\n", "platform capture");
  });

  auto log = std::make_shared<Out>();
  auto* l = group->add_subcommand("eventlog", "Write this TD's CC event log (the CCEL ACPI table's data)");
  add_out(l, *log);
  l->footer("Read it with `tdxctl quote eventlog FILE`, or check it against a quote with\n"
            "`tdxctl quote verify --event-log FILE`.\n\n"
            "Examples:\n  tdxctl-guest measure eventlog --out ccel.bin");
  l->callback([log, &ctx] {
    auto bytes = core::value_or_throw(capture::read_event_log(ctx.root()));
    write_out(ctx, *log, as_string(bytes), "CC event log");
  });
}

} // namespace tdx::cmd
