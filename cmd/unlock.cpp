// tdxctl unlock: the attested LUKS unlock (runs in the TD's initramfs).
#include "context.hpp"

namespace tdx::cmd {

void add_unlock(CLI::App& app, Context&) {
  auto* verb = app.add_subcommand(
      "unlock", "Unlock the LUKS root with a key released after attestation (initramfs; not "
                "built yet)");
  verb->allow_extras();
  verb->callback([] {
    throw core::Failure(core::Category::usage, "command.not_built",
                        "tdxctl unlock is not built yet in this version of tdxctl");
  });
}

} // namespace tdx::cmd
