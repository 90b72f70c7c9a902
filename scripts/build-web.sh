#!/usr/bin/env bash
# build-web.sh: builds the web app (web/) into web/dist, which `pitboss serve` serves
# (docs/web.md). Installs the locked npm packages with `npm ci` when package-lock.json changed
# since the last install; the build itself needs no network.
set -euo pipefail
cd "$(dirname "$0")/../web"

need="20.19.0"
have=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
  echo "build-web: Node.js >= $need is needed (found: $have); install a current nodejs package" >&2
  exit 1
fi
if [ ! -f node_modules/.ci-stamp ] || [ package-lock.json -nt node_modules/.ci-stamp ] ||
   [ ! -x node_modules/.bin/vite ] || [ ! -x node_modules/.bin/tsc ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.ci-stamp
fi
npm run --silent build >/dev/null
echo "web app built: web/dist"
