# Sourced: the Debian mirrors this host's apt uses (a CI box may reach only
# its own), else deb.debian.org. MIRROR and SECURITY_MIRROR override.
apt_source_uri() {  # the first configured URI whose path ends in /$1
  grep -hoE "(URIs:|^deb) +https?://[^ ]+/$1/?( |\$)" /etc/apt/sources.list /etc/apt/sources.list.d/* \
    2>/dev/null | grep -oE 'https?://[^ ]+' | head -1 || true
}
debian_mirror() {
  local uri
  uri=$(apt_source_uri debian)
  echo "${MIRROR:-${uri:-http://deb.debian.org/debian}}"
}
debian_security_mirror() {
  local uri
  uri=$(apt_source_uri debian-security)
  echo "${SECURITY_MIRROR:-${uri:-http://security.debian.org/debian-security}}"
}
