#!/usr/bin/env bash
# The repository stands alone: no tracked file may name a location beside the
# checkout (a sibling directory of a developer machine) for data, docs or scripts; what
# the tests need lives in tests/data/. Needs a git checkout (skips otherwise).
set -euo pipefail
src=${1:?usage: standalone.sh SOURCE_DIR}
cd "$src"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "not a git checkout: nothing to check"; exit 0
fi
# The pattern is split so that this file does not match itself.
dots='\.\.'
if hits=$(git grep -n -I -E "${dots}/shared(/|\b)" -- . ':!tests/repo/standalone.sh'); then
  echo "tracked files refer beside the checkout (copy the data into tests/data/ instead):" >&2
  echo "$hits" >&2
  exit 1
fi
# Every data set has its provenance.
for d in tests/data/*/; do
  [[ -f $d/README.md ]] || { echo "$d has no README.md (where it came from, its licence)" >&2; exit 1; }
done
echo "repository stands alone: no reference beside the checkout, $(ls -d tests/data/*/ | wc -l) data sets with provenance"
