#!/usr/bin/env bash
# Crash safety: sustained updatePath load, SIGKILL at random moments, restart on the same store, and a check that
# every update acknowledged with errcode 0 is stored exactly once. 20 rounds on SQLite and on PostgreSQL; and one
# orderly stop (SIGTERM) under the same load on each, with the same check.
# Usage: bench/crash.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export WXLOGISTICS_CRASH_ROUNDS=${1:-20}
source tests/scripts/postgres.sh
echo "reproduce: bench/crash.sh $WXLOGISTICS_CRASH_ROUNDS"
dotnet test tests/WxLogistics.Tests --filter "FullyQualifiedName~CrashSafety" --logger "console;verbosity=detailed" 2>&1 \
  | grep -E "SIGKILL rounds|SIGTERM after|Passed!|Failed!|Failed |Assert"
