// tdxctl image: Build and inspect hardened, LUKS2-encrypted TD images
#include "context.hpp"

namespace tdx::cmd {

void add_image(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("image", "Build and inspect hardened, LUKS2-encrypted TD images");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"build", "Build a TD image from a base qcow2 and image.yaml"}, {"inspect", "Show partitions, LUKS header and manifest of an image"}, {"verify", "Open the root with the key and check the installed unlock path"}});
}

} // namespace tdx::cmd
