#!/usr/bin/env bash
# Copy the bpmn-js viewer bundle and its stylesheets from node_modules into
# web/static/vendor/bpmn-js/ (git-ignored; rebuilt by `make install`).
# Needs `npm ci` to have run first.
set -euo pipefail
cd "$(dirname "$0")/.."

SRC=node_modules/bpmn-js/dist
DEST=web/static/vendor/bpmn-js

if [ ! -f "$SRC/bpmn-navigated-viewer.production.min.js" ]; then
    echo "[build-vendor] $SRC missing: run 'npm ci' first" >&2
    exit 1
fi

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$SRC/bpmn-navigated-viewer.production.min.js" "$DEST/"
cp "$SRC/assets/bpmn-js.css" "$SRC/assets/diagram-js.css" "$DEST/"
cp "$SRC/assets/bpmn-font/css/bpmn-embedded.css" "$DEST/"
cp node_modules/bpmn-js/LICENSE "$DEST/LICENSE" 2>/dev/null || true  # keeps the bpmn.io watermark terms beside the bundle
version=$(node -p "require('./node_modules/bpmn-js/package.json').version")
echo "$version" >"$DEST/VERSION"
echo "[build-vendor] bpmn-js $version -> $DEST"
