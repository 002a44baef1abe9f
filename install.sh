#!/bin/sh
# Install ngb (NanoGridBot) from a release: detect the platform, download the matching archive
# and SHA256SUMS, verify the checksum, install the binary.
#
#   curl -fsSL https://github.com/nanogridbot/nanogridbot/releases/latest/download/install.sh | sh
#   sh install.sh [--version X.Y.Z] [--prefix DIR]
#
# Environment: NGB_RELEASE_URL (default below; GitHub's layout: <url>/latest/download/<file>,
# <url>/download/v<version>/<file>), NGB_VERSION, NGB_INSTALL_DIR (same as --prefix).
# Every refusal is one line on stderr and exit code 1; an existing ngb is only replaced by a
# verified binary, with a rename.
set -eu

RELEASE_URL="${NGB_RELEASE_URL:-https://github.com/nanogridbot/nanogridbot/releases}"
VERSION="${NGB_VERSION:-}"
PREFIX="${NGB_INSTALL_DIR:-}"

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || die "--version needs a value"; VERSION="$2"; shift 2 ;;
    --version=*) VERSION="${1#*=}"; shift ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    -h | --help)
      sed -n '2,11p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option \"$1\" (options: --version X.Y.Z, --prefix DIR)" ;;
  esac
done
VERSION="${VERSION#v}"

# --- platform ---------------------------------------------------------------------------
os=$(uname -s)
arch=$(uname -m)
case "$os" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported platform: $os $arch (releases exist for Linux and macOS on x64 and arm64)" ;;
esac
case "$arch" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "unsupported platform: $os $arch (releases exist for Linux and macOS on x64 and arm64)" ;;
esac
# An x64 shell on Apple silicon (Rosetta) still gets the native binary.
if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
  arch=arm64
fi
platform="$os-$arch"
if [ "$os" = linux ] && { [ -f /etc/alpine-release ] || ls /lib/ld-musl-* >/dev/null 2>&1; } &&
  ! ls /lib64/ld-linux-* /lib/ld-linux-* >/dev/null 2>&1; then
  platform="$platform-musl"
fi

# --- tools ------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 --connect-timeout 30 --speed-limit 1 --speed-time 60 -o "$2" "$1" 2>"$tmp/fetch.err"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q --timeout=60 -O "$2" "$1" 2>"$tmp/fetch.err"; }
else
  die "need curl or wget to download"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  die "need sha256sum or shasum to verify the download"
fi
command -v tar >/dev/null 2>&1 || die "need tar to unpack the download"

# --- where ------------------------------------------------------------------------------
if [ -z "$PREFIX" ]; then
  if [ "$(id -u)" = 0 ]; then PREFIX=/usr/local/bin; else PREFIX="$HOME/.local/bin"; fi
fi
mkdir -p "$PREFIX" 2>/dev/null || die "cannot create $PREFIX (no permission? try --prefix DIR or sudo)"
[ -w "$PREFIX" ] || die "no write permission to $PREFIX (try --prefix DIR or sudo)"

# --- download and verify ----------------------------------------------------------------
if [ -n "$VERSION" ]; then base="$RELEASE_URL/download/v$VERSION"; else base="$RELEASE_URL/latest/download"; fi
tmp=$(mktemp -d 2>/dev/null || mktemp -d -t ngb-install)
trap 'rm -rf "$tmp"' EXIT INT TERM

why() { tail -n 1 "$tmp/fetch.err" 2>/dev/null | sed 's/^curl: ([0-9]*) //' | head -c 200; }
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || die "cannot download $base/SHA256SUMS: $(why)"
line=$(grep -E "^[0-9a-f]{64}  ngb-[0-9][^ ]*-$platform\.tar\.gz\$" "$tmp/SHA256SUMS" | head -n 1 || true)
[ -n "$line" ] || die "the release at $base has no archive for $platform"
expected=${line%% *}
archive=${line##* }
fetch "$base/$archive" "$tmp/$archive" || die "cannot download $base/$archive: $(why); nothing installed"
actual=$(sha256 "$tmp/$archive")
[ "$actual" = "$expected" ] ||
  die "checksum mismatch for $archive (expected $expected, got $actual): download corrupt or truncated; nothing installed"
mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x" ngb 2>/dev/null || die "cannot unpack $archive: archive damaged; nothing installed"
chmod 755 "$tmp/x/ngb"
got=$("$tmp/x/ngb" --version 2>/dev/null || true)
case "$got" in ngb\ *) ;; *) die "the downloaded ngb does not run on this machine ($platform); nothing installed" ;; esac

# Same directory, then rename: an existing ngb is replaced in one step or not at all.
cp "$tmp/x/ngb" "$PREFIX/.ngb.install.$$" 2>/dev/null || {
  rm -f "$PREFIX/.ngb.install.$$"
  die "cannot write $PREFIX/ngb (no permission or no space left); nothing installed"
}
mv -f "$PREFIX/.ngb.install.$$" "$PREFIX/ngb" || {
  rm -f "$PREFIX/.ngb.install.$$"
  die "cannot replace $PREFIX/ngb"
}

echo "installed $got to $PREFIX/ngb"
case ":$PATH:" in
  *":$PREFIX:"*) ;;
  *) echo "note: $PREFIX is not on your PATH; add it: export PATH=\"$PREFIX:\$PATH\"" ;;
esac
cat <<EOF

Next:
  mkdir -p ~/ngb && cd ~/ngb
  ngb doctor                 # checks docker, the agent image and your API key
  ngb image build            # the agent container image
  ngb serve                  # or run it as a service: ngb service install
EOF
