# demo: TD networking in a throwaway network namespace (bridge, NAT, port forwards, teardown)
set -euo pipefail
# Everything happens inside namespaces created here; the host's links and
# firewall are not touched. tdxctl's --root gets its own /run (the record of
# what `net up` made) and the namespace's /proc/sys/net (its ip_forward),
# bind-mounted inside the mount namespace `ip netns exec` makes: tdxctl
# refuses a symlink that leads out of --root.
ns=tdxdemo$$
peer=tdxdemo$$c
cleanup() { ip netns del "$ns" 2>/dev/null || true; ip netns del "$peer" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip netns add "$peer"
ip -n "$ns" link add eth0 type veth peer name eth0 netns "$peer"
ip -n "$ns" addr add 10.66.0.1/24 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" route add default via 10.66.0.2
root=$DEMO_DIR/net-root
mkdir -p "$root/proc/sys/net"
in_ns() { ip netns exec "$ns" sh -c 'mount --bind /proc/sys/net "$0" && exec "$@"' "$root/proc/sys/net" "$@"; }
export -f in_ns
export ns root
show in_ns tdxctl --root "$root" --dry-run net up --tap-user nobody --forward tcp/6443 --forward tcp/2222:22
show in_ns tdxctl --root "$root" net up --tap-user nobody --forward tcp/6443 --forward tcp/2222:22
show in_ns tdxctl --root "$root" net up --tap-user nobody --forward tcp/6443 --forward tcp/2222:22
show in_ns tdxctl --root "$root" net status
show in_ns tdxctl --root "$root" net up --public-interface nope0 --bridge br-other
show in_ns tdxctl --root "$root" net down
show in_ns iptables-save
