#!/bin/sh
# vendor-htmx.sh copies htmx from the npm package pinned in package.json
# into web/static, where the binary embeds it. shequ must run in offices cut
# off from the internet, so nothing is loaded from a CDN; the copy is
# committed so that building shequ needs no npm.
#
# To move to another htmx version: change the version in package.json, run
# "npm install --package-lock-only", then this script, and commit all three.
set -eu
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund
cp node_modules/htmx.org/dist/htmx.min.js web/static/htmx.min.js
version=$(node -p 'require("./node_modules/htmx.org/package.json").version')
echo "web/static/htmx.min.js is htmx $version"
