#!/bin/sh
# vendor-axe.sh copies axe-core from the npm package pinned in package.json
# (a devDependency) into web/testdata/axe, where the browser tests load it
# into each page they check. It is for the tests only: nothing under
# testdata is built into the binary. The copy is committed so that the
# tests need neither npm nor the network, in CI or anywhere else.
#
# To move to another axe-core version: change the version in package.json,
# run "npm install --package-lock-only", then this script, and commit all
# three.
set -eu
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p web/testdata/axe
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE web/testdata/axe/
version=$(node -p 'require("./node_modules/axe-core/package.json").version')
echo "web/testdata/axe/axe.min.js is axe-core $version"
