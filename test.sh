#!/usr/bin/env bash
# The one test command: checks formatting, builds, and runs every test suite.
# It installs what the tests need on a fresh machine of this project's kind.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

echo "== Node.js packages for the cloud-call tests (wx-server-sdk, pinned by tests/cloud/package-lock.json)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
npm ci --prefix tests/cloud --no-audit --no-fund --loglevel=error

echo "== PostgreSQL for the tests that run on both stores"
source tests/scripts/postgres.sh

echo "== Chromium for the tracking-page tests (Debian's, driven by Playwright), with a CJK font"
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi zen hei"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi

echo "== restore"
dotnet restore WxLogistics.slnx --verbosity quiet

echo "== format check (dotnet format --verify-no-changes)"
dotnet format WxLogistics.slnx --verify-no-changes --no-restore --verbosity quiet

echo "== tests"
results="$(pwd)/TestResults"
rm -rf "$results"
status=0
dotnet test WxLogistics.slnx --no-restore --configuration Release \
  --logger "console;verbosity=normal" --logger "trx;LogFileName=results.trx" \
  --results-directory "$results" || status=$?

echo "== secrets and phone numbers in the servers' logs"
tests/scripts/scan-logs.sh || status=1

# One plain closing line for whoever reads the log: "N passed, N failed".
passed=0 failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p)) failed=$((failed + f))
done
echo "tests: ${passed} passed, ${failed} failed"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
