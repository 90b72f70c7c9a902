#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages pitboss needs to build, run and test.
# The one list of packages; `make run` and `make test` call this. Installs only what is
# missing, so a second run is quick and needs no network.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config        # toolchain
  clang libclang-rt-14-dev                # libFuzzer targets (tests/fuzz)
  libmicrohttpd-dev                       # HTTP server
  libwslay-dev                            # WebSocket framing
  libjansson-dev                          # JSON at the edge
  libsodium-dev                           # CSPRNG, hashing, argon2id
  libsqlite3-dev                          # embedded default database
  libpq-dev                               # PostgreSQL client
  libssl-dev                              # libcrypto: SHA-256 with CPU extensions (hash chain)
  libcmocka-dev                           # unit tests
  libcurl4-openssl-dev                    # HTTP client for black-box tests
  postgresql                              # the real server the PostgreSQL suite starts
  wrk curl                                # HTTP load generator and client for bench/
  argon2 oathtool                         # reference tools the password and TOTP tests check against
  python3                                 # small helper scripts
  python3-yaml                            # the OpenAPI document is checked to parse as YAML
  nodejs                                  # builds the web app (web/; Node >= 20.19, docs/web.md)
  chromium                                # the real browser of the end-to-end tests (web/e2e)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
