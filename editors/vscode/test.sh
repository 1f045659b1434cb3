#!/bin/sh
# Install the extension's npm dependencies (package-lock.json), test the TextMate grammar
# headless (vscode-tmgrammar-test on tests/*.snn) and package the extension (snn-VERSION.vsix).
# Needs node 18+ and npm with access to the npm registry.
set -eu
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run test-grammar
npm run package
ls -l ./*.vsix
