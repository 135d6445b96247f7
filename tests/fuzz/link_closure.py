#!/usr/bin/env python3
"""Print the library sources a fuzz shim links against, one per line.

The closure is computed the way the linker pulls members from an archive:
start from the shim object's undefined symbols, take the library object that
holds each one's strong definition, add that object's undefined symbols, and
repeat. Objects come from the main build (BUILD_DIR/CMakeFiles/<lib>.dir),
whose paths mirror the sources, so a new dependency of a parser is picked up
without anyone keeping a list by hand.

usage: link_closure.py SHIM_OBJECT BUILD_DIR LIB_TARGET...
"""
import pathlib
import subprocess
import sys

STRONG = set("TDBR")  # weak (W/V) and common symbols are emitted where used


def symbols(obj):
    out = subprocess.run(["nm", "--format=posix", str(obj)], check=True,
                         capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in STRONG:
            defined.add(name)
    return defined, undefined


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__.strip())
    shim, build = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    definer, needs, source = {}, {}, {}
    for target in argv[3:]:
        root = build / "CMakeFiles" / f"{target}.dir"
        objs = sorted(root.rglob("*.o"))
        if not objs:
            sys.exit(f"link_closure: no objects under {root}; build the project first (scripts/build)")
        for obj in objs:
            defined, undefined = symbols(obj)
            needs[obj] = undefined
            source[obj] = str(obj.relative_to(root))[: -len(".o")]
            for name in defined:
                definer.setdefault(name, obj)
    _, pending = symbols(shim)
    chosen, seen = [], set()
    pending = list(pending)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        obj = definer.get(name)
        if obj is None or obj in chosen:
            continue
        chosen.append(obj)
        pending.extend(needs[obj])
    # CMakeFiles/<target>.dir/<source path>.o -> <source path>
    print("\n".join(sorted(source[obj] for obj in chosen)))


if __name__ == "__main__":
    main(sys.argv)
