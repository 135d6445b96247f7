// tdxctl measure acpi|platform|eventlog: inside a TD, capture what `image
// measure` needs from a running TD of a given shape (its ACPI tables, the
// platform inputs of RTMR0) and the TD's own event log. Its own file because
// tdxctl-guest shares it without the host-only verbs.
#include "context.hpp"

#include "tdxctl/capture/platform.hpp"
#include "tdxctl/core/fs.hpp"

#include <fmt/format.h>

#include <functional>

namespace tdx::cmd {
namespace {

// One capture verb: --out FILE [--force], then `capture` produces the bytes,
// written atomically and reported as `what`.
void add_capture(CLI::App* group, Context& ctx, const std::string& name, const std::string& description,
                 const std::string& footer, std::string what, std::function<std::string()> capture) {
  struct Out {
    std::string file;
    bool force = false;
  };
  auto out = std::make_shared<Out>();
  auto* sub = group->add_subcommand(name, description);
  sub->add_option("--out", out->file, "Write it here")->required()->type_name("FILE");
  sub->add_flag("--force", out->force, "Replace an existing --out file");
  sub->footer(footer);
  sub->callback([out, &ctx, what = std::move(what), capture = std::move(capture)] {
    std::string bytes = capture();
    core::write_file_atomic(out->file, bytes, 0644, out->force ? core::Force::yes : core::Force::no);
    core::Json doc{{"kind", what}, {"file", out->file}, {"size", bytes.size()}};
    ctx.out().emit("tdxctl.measure.capture/1", doc, [&](std::ostream& os) {
      os << "wrote " << bytes.size() << "-byte " << what << " to " << out->file << "\n";
    });
  });
}

std::string as_string(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

} // namespace

void add_measure_capture(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("measure", "Inside a TD: capture the inputs `tdxctl image measure` needs");
  group->require_subcommand(1);

  add_capture(group, ctx, "acpi", "Write QEMU's ACPI tables blob (fw_cfg etc/acpi/tables) of this TD",
              "Capture once per TD shape (vCPUs, devices); `tdxctl image measure --acpi-tables FILE`\n"
              "uses it. Needs the qemu_fw_cfg driver (modprobe qemu_fw_cfg).\n\n"
              "Examples:\n  tdxctl-guest measure acpi --out acpi-tables.bin",
              "ACPI tables", [&ctx] {
                return as_string(core::value_or_throw(capture::read_fw_cfg(ctx.root(), capture::kAcpiTablesFile)));
              });
  add_capture(group, ctx, "platform",
              "Write every RTMR0 input this TD shows (ACPI files, measured fw_cfg items, boot variables)",
              "Writes one JSON document (schema tdxctl.platform/1) for\n"
              "`tdxctl image measure --platform FILE`, which then predicts RTMR0 for TDs of this shape.\n\n"
              "Examples:\n  tdxctl-guest measure platform --out platform.json",
              "platform capture", [&ctx] {
                auto captured = core::value_or_throw(capture::read_platform(ctx.root()));
                return capture::platform_to_json(captured).dump(2) + "\n";
              });
  add_capture(group, ctx, "eventlog", "Write this TD's CC event log (the CCEL ACPI table's data)",
              "Read it with `tdxctl quote eventlog FILE`, or check it against a quote with\n"
              "`tdxctl quote verify --event-log FILE`.\n\n"
              "Examples:\n  tdxctl-guest measure eventlog --out ccel.bin",
              "CC event log", [&ctx] { return as_string(core::value_or_throw(capture::read_event_log(ctx.root()))); });
}

} // namespace tdx::cmd
