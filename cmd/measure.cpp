// Measured boot: `image measure` (predict MRTD/RTMRs of a direct-boot TD),
// `quote eventlog` (parse and replay a CC event log) and `policy init`
// (policy.yaml from the predicted reference values).
#include "context.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/units.hpp"
#include "tdxctl/measure/compare.hpp"
#include "tdxctl/measure/event_log.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/predict_files.hpp"
#include "tdxctl/measure/report.hpp"
#include "tdxctl/policy/policy_file.hpp"
#include "tdxctl/policy/policy_init.hpp"
#include "tdxctl/td/measure_inputs.hpp"
#include "tdxctl/up/host_file.hpp"

#include <fmt/format.h>

#include <iostream>

namespace tdx::cmd {
namespace {

// policy.yaml's keys, as lib/tdxctl/policy/policy_file.cpp reads them.
constexpr const char* k_policy_yaml_man = R"(.SH POLICY.YAML
The appraisal policy \fBquote verify \-\-policy\fR applies after DCAP verification.
Every hex value is length\-checked and an unknown key is an error naming its line.
.TP
\fBaccept_tcb\fR
TCB statuses accepted (default [UpToDate]).
.TP
\fBmr_td\fR, \fBmr_seam\fR
Lists of 96\-hex\-digit values; the quote's must be one of them.
.TP
\fBrtmr0\fR .. \fBrtmr3\fR, \fBmr_config_id\fR, \fBmr_owner\fR, \fBmr_owner_config\fR
96 hex digits each; the quote's value must be equal.
.TP
\fBxfam\fR, \fBtd_attributes\fR
16 hex digits each.
.TP
\fBallow_debug\fR, \fBrequire_sept_ve_disable\fR
Booleans (default false).
.TP
\fBmin_tee_tcb_svn\fR
32 hex digits, compared component by component.
.TP
\fBmin_qe_svn\fR, \fBmin_pce_svn\fR
Integers.
.TP
\fBreport_data\fR
128 hex digits: the exact REPORTDATA.
)";

std::string read_bytes(const std::string& path) { return core::value_or_throw(core::read_file(path)); }

std::span<const uint8_t> span_of(const std::string& s) { return core::as_bytes(s); }

core::Json log_events_json(const measure::EventLog& log) {
  core::Json events = core::Json::array();
  for (const auto& e : log.events) {
    core::Json j{{"offset", e.offset},
                 {"mr_index", e.mr_index},
                 {"register", e.event_type == measure::EV_NO_ACTION || e.mr_index == 0
                                  ? core::Json(nullptr)
                                  : core::Json(measure::register_name(static_cast<int>(e.mr_index) - 1))},
                 {"event_type", measure::event_type_name(e.event_type)},
                 {"event_type_value", e.event_type},
                 {"name", measure::event_description(e)},
                 {"digest", measure::digest_hex(e.digest)}};
    events.push_back(std::move(j));
  }
  return events;
}

} // namespace

void add_image_measure(CLI::App* group, Context& ctx) {
  struct Args {
    std::string config, firmware, kernel, initrd, cmdline, memory, acpi_tables, platform, compare_log;
    bool legacy_qemu = false;
  };
  auto args = std::make_shared<Args>();
  auto* m = group->add_subcommand(
      "measure", "Predict MRTD and RTMR0-3 of a TD booted by TDVF with QEMU direct kernel boot, "
                 "with the ordered event list");
  auto* config = m->add_option("-c,--config", args->config,
                                "host.yaml: predict the TD `td launch -c` starts (its firmware, td.memory_gib, the "
                                "image manifest's kernel, initrd and command line, td.measure's capture)")
                     ->type_name("FILE")->check(CLI::ExistingFile);
  m->add_option("--firmware", args->firmware, "TDVF image (e.g. OVMF.inteltdx.fd); with -c, overrides td.firmware")
      ->type_name("FILE")->check(CLI::ExistingFile);
  m->add_option("--kernel", args->kernel, "Kernel (EFI-stub bzImage), as QEMU -kernel")
      ->type_name("FILE")->check(CLI::ExistingFile)->excludes(config);
  m->add_option("--initrd", args->initrd, "Initrd, as QEMU -initrd")->type_name("FILE")
      ->check(CLI::ExistingFile)->excludes(config);
  m->add_option("--cmdline", args->cmdline, "Kernel command line, as QEMU -append")->type_name("TEXT")
      ->excludes(config);
  m->add_option("--memory", args->memory, "TD memory size (e.g. 2G), as QEMU -m; with -c, overrides td.memory_gib")
      ->type_name("SIZE");
  auto* acpi = m->add_option("--acpi-tables", args->acpi_tables,
                             "QEMU's etc/acpi/tables blob from a TD of this shape (`tdxctl-guest measure acpi`)")
                   ->type_name("FILE")->check(CLI::ExistingFile);
  m->add_option("--platform", args->platform,
                "Every RTMR0 input a TD of this shape showed (`tdxctl-guest measure platform`)")
      ->type_name("FILE")->check(CLI::ExistingFile)->excludes(acpi);
  m->add_flag("--legacy-qemu", args->legacy_qemu,
              "QEMU before 10.0: the firmware gets the kernel with QEMU's setup-header patch");
  m->add_option("--compare-event-log", args->compare_log,
                "A TD's CC event log: name the first event that differs from the prediction")
      ->type_name("FILE")->check(CLI::ExistingFile);
  m->footer(
      "MRTD is computed from TDVF's TDX metadata; RTMR1 (kernel, boot actions) and RTMR2\n"
      "(command line and initrd as the kernel's EFI stub measures them) are predicted. RTMR0\n"
      "(TD HOB, CFV, fw_cfg items, secure-boot variables, ACPI files, boot variables) is\n"
      "predicted from --platform; with less it is reported \"unknown\" with the input it\n"
      "lacks. RTMR3 is zero. See README \"Measured boot\".\n\n"
      "Examples:\n"
      "  tdxctl image measure -c /etc/tdxctl/host.yaml -o json\n"
      "  tdxctl image measure --firmware /usr/share/ovmf/OVMF.inteltdx.fd --kernel vmlinuz \\\n"
      "    --initrd initrd.img --cmdline 'root=/dev/mapper/root ro console=ttyS0' --memory 2G -o json\n"
      "  tdxctl image measure ... --compare-event-log CCEL");
  m->callback([args, &ctx] {
    // With -c the launch inputs come from host.yaml, as `td launch -c` reads
    // them; --firmware, --memory or a capture flag given as well overrides it.
    const auto& a = *args;
    measure::MeasureFiles files;
    if (!a.config.empty()) {
      td::SpecOverrides o;
      o.firmware = a.firmware;
      files = core::value_or_throw(td::measure_inputs(ctx.root(), up::load_td_spec(a.config, o)));
    } else {
      for (auto [flag, value] : {std::pair{"--firmware", &a.firmware}, std::pair{"--kernel", &a.kernel},
                                 std::pair{"--memory", &a.memory}})
        if (value->empty())
          throw core::Failure(core::Category::usage, "measure.missing_input",
                              fmt::format("{} is required without -c (or give -c host.yaml)", flag));
      files.firmware = a.firmware;
      files.kernel = a.kernel;
      files.initrd = a.initrd;
      files.cmdline = a.cmdline;
    }
    if (!a.platform.empty() || !a.acpi_tables.empty()) files.platform = a.platform, files.acpi_tables = a.acpi_tables;
    if (!a.memory.empty()) {
      auto memory = core::parse_size(a.memory);
      if (!memory || *memory == 0)
        throw core::Failure(core::Category::usage, "measure.memory",
                            fmt::format("--memory '{}': expected a size such as 2G or 2048M", a.memory));
      files.memory_bytes = *memory;
    }
    files.legacy_qemu = a.legacy_qemu;
    auto p = core::value_or_throw(measure::predict_from_files(files));
    auto doc = measure::prediction_to_json(p);
    std::vector<measure::EventDifference> diffs;
    if (!args->compare_log.empty()) {
      auto bytes = read_bytes(args->compare_log);
      auto log = core::value_or_throw(measure::parse_event_log(span_of(bytes), args->compare_log));
      diffs = measure::compare_with_log(p, log);
      core::Json d = core::Json::array();
      for (const auto& x : diffs) d.push_back({{"register", measure::register_name(x.rtmr)},
                                               {"index", x.index},
                                               {"message", x.message}});
      doc["event_log_differences"] = d;
    }
    ctx.out().emit(measure::kMeasureSchema, doc, [&](std::ostream& os) {
      measure::print_prediction(os, p);
      if (!args->compare_log.empty()) {
        if (diffs.empty()) os << "\nthe event log matches the prediction\n";
        for (const auto& x : diffs) os << "\nfirst difference: " << x.message << "\n";
      }
    });
    if (!diffs.empty())
      throw core::Failure(core::Error{core::Category::failed, "measure.event_log_differs",
                                      diffs.front().message, "", true});
  });
}

void add_quote_eventlog(CLI::App* group, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto* e = group->add_subcommand(
      "eventlog", "Parse a TD's CC event log (CCEL, TCG2 crypto-agile), print its events and the "
                  "RTMRs they replay to");
  e->add_option("FILE", *file, "The event log (a copy of /sys/firmware/acpi/tables/data/CCEL)")
      ->required()->type_name("FILE")->check(CLI::ExistingFile);
  e->footer("Examples:\n  tdxctl quote eventlog CCEL\n  tdxctl quote eventlog CCEL -o json");
  e->callback([file, &ctx] {
    auto bytes = read_bytes(*file);
    auto log = core::value_or_throw(measure::parse_event_log(span_of(bytes), *file));
    core::Json doc;
    core::Json rtmr = core::Json::array();
    for (const auto& r : log.rtmr) rtmr.push_back(measure::digest_hex(r));
    doc["rtmr"] = rtmr;
    doc["events"] = log_events_json(log);
    ctx.out().emit("tdxctl.quote.eventlog/1", doc, [&](std::ostream& os) {
      core::Table t({"OFFSET", "REGISTER", "EVENT TYPE", "NAME", "DIGEST"});
      for (const auto& ev : log.events)
        t.row({std::to_string(ev.offset),
               ev.event_type == measure::EV_NO_ACTION ? "-"
                                                      : measure::register_name(static_cast<int>(ev.mr_index) - 1),
               measure::event_type_name(ev.event_type), measure::event_description(ev),
               measure::digest_hex(ev.digest)});
      t.print(os);
      os << "\n";
      for (int r = 0; r < 4; ++r)
        os << measure::register_name(r) << ": " << measure::digest_hex(log.rtmr[r]) << "\n";
    });
  });
}

void add_policy(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("policy", "Appraisal policies (policy.yaml) from reference values");
  group->require_subcommand(1);
  set_man_sections(group, k_policy_yaml_man);
  struct Args {
    std::string from_measure, mr_config_id, out = "policy.yaml";
    std::vector<std::string> accept{"UpToDate"};
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* init = group->add_subcommand(
      "init", "Write a policy.yaml pinning MRTD, the predicted RTMRs, MRCONFIGID and the accepted "
              "TCB statuses");
  init->add_option("--from-measure", args->from_measure, "`image measure -o json` output")
      ->required()->type_name("FILE")->check(CLI::ExistingFile);
  init->add_option("--mr-config-id", args->mr_config_id,
                   "MRCONFIGID as a .sha384 file (96 hex digits, sha384sum format)")
      ->type_name("FILE")->check(CLI::ExistingFile);
  add_accept_option(init, args->accept);
  init->add_option("--out", args->out, "Where to write (default policy.yaml)")->type_name("FILE");
  init->add_flag("--force", args->force, "Replace an existing file");
  init->footer("RTMRs the measurement reported as unknown are not pinned; RTMR3 never is.\n\n"
               "Examples:\n  tdxctl image measure ... -o json > measure.json\n"
               "  tdxctl policy init --from-measure measure.json --mr-config-id config.sha384");
  init->callback([args, &ctx] {
    policy::PolicyInit pi;
    pi.values = core::value_or_throw(measure::load_measure_json(args->from_measure));
    if (!args->mr_config_id.empty())
      pi.mr_config_id = core::value_or_throw(
          policy::parse_sha384_file(read_bytes(args->mr_config_id), args->mr_config_id));
    pi.accept_tcb = args->accept;
    pi.source = args->from_measure;
    auto text = policy::render_policy(pi);
    // Round-trip through the reader: a file `quote verify` would refuse is never written.
    policy::parse_policy(text, args->out);
    core::write_file_atomic(args->out, text, 0644, args->force ? core::Force::yes : core::Force::no);
    core::Json doc{{"output", args->out}, {"changed", true}};
    ctx.out().emit("tdxctl.policy.init/1", doc, [&](std::ostream& os) {
      os << "wrote " << args->out << "\n";
    });
  });
}

} // namespace tdx::cmd
