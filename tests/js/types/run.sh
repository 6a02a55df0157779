#!/usr/bin/env bash
# The npm package's types under each tsconfig.*.json here (make test-js): tsc on the consumers
# each one names, against dist/js (make js) resolved as an installed package
# (node_modules/intercom-authz, a link made here), so that package.json's `exports` and their
# conditions pick the declarations. One line per config (and the build it picked); any error
# fails, printed whole.
set -u
cd "$(dirname "$0")"
TSC=../../node/node_modules/.bin/tsc
[ -f ../../../dist/js/package.json ] || { echo "no dist/js: make js first" >&2; exit 1; }
mkdir -p node_modules && ln -sfn ../../../../dist/js node_modules/intercom-authz

failed=0
for config in tsconfig.*.json; do
  [ "$config" = tsconfig.base.json ] && continue
  if trace=$("$TSC" -p "$config" --traceResolution 2>&1); then
    # The declarations "intercom-authz" resolved to (web.ts and node.ts check the build too).
    picked=$(sed -n "s|^======== Module name 'intercom-authz[^']*' was successfully resolved to '.*/dist/js/\([^']*\)'.*|\1|p" <<<"$trace" | sort -u)
    echo "pass  $config  (intercom-authz: ${picked//$'\n'/ })"
  else
    echo "FAIL  $config"
    "$TSC" -p "$config" 2>&1 | sed 's/^/      /'
    failed=$((failed + 1))
  fi
done
[ "$failed" = 0 ] || { echo "tests/js/types: $failed of the configs failed" >&2; exit 1; }
