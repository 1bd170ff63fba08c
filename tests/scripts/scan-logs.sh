#!/usr/bin/env bash
# After a test run: no secret, token or mainland mobile number that the tests handled may appear in the servers'
# logs. TestResults/secrets.txt holds every credential the tests were given; TestResults/server.log every log line.
# A phone number is 1[3-9] and nine digits standing apart from letters and digits (not part of a hex id).
set -euo pipefail
cd "$(dirname "$0")/../.."
log=TestResults/server.log secrets=TestResults/secrets.txt
[ -s "$log" ] || { echo "scan-logs: no server log was captured ($log)" >&2; exit 1; }
[ -s "$secrets" ] || { echo "scan-logs: no secrets were recorded ($secrets)" >&2; exit 1; }

# Short fixture tokens (such as the seed's "TOKEN") are words, not secrets; the generated ones are 32 or more characters.
awk 'length($0) >= 16' "$secrets" | sort -u > TestResults/secrets-long.txt
found=$(grep -F -o -f TestResults/secrets-long.txt "$log" | sort -u | head -n 5 || true)
phones=$(grep -E -o '(^|[^0-9A-Za-z])1[3-9][0-9]{9}([^0-9A-Za-z]|$)' "$log" | head -n 5 || true)
echo "scan-logs: $(wc -l < "$log") log lines checked for $(wc -l < TestResults/secrets-long.txt) secrets and for phone numbers"
if [ -n "$found" ] || [ -n "$phones" ]; then
  [ -n "$found" ] && echo "scan-logs: secrets found in the server logs (first characters): $(cut -c1-6 <<<"$found" | tr '\n' ' ')" >&2
  [ -n "$phones" ] && echo "scan-logs: phone numbers found in the server logs: $phones" >&2
  exit 1
fi
