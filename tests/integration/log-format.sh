#!/bin/sh
# --log-format json: every line chimed writes is one JSON object with its
# time, level and message, and the pairs of the logfmt line as strings,
# quoted values (escaped quotes, backslashes, spaces) read back whole.
. "$(dirname "$0")/lib.sh"

# A catalog whose path holds a space, a quote and a backslash.
ODD="$T/odd dir \"q\" back\\slash"
mkdir -p "$ODD"
cp "$CATALOG" "$ODD/catalog.json"
CATALOG="$ODD/catalog.json"
start_chimed --log-format json
ctl account create acme >/dev/null
check "a refused request is logged too" sh -c \
    "! '$CHIMECTL' --socket '$SOCK' schedule create --account nobody \
    --name x --op quick --manual"
check "stop" stop_chimed
check "every line is a JSON object with ts, level and msg" python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert isinstance(o, dict), line
    assert {"ts", "level", "msg"} <= set(o), line
    assert all(isinstance(v, str) for v in o.values()), line
    n += 1
assert n > 5, n
' "$LOG"
check "... quoted values read back whole" python3 -c '
import json, sys
want = sys.argv[2]
got = [json.loads(l) for l in open(sys.argv[1])]
assert any(o["msg"] == "catalog loaded" and o.get("source") == want
           for o in got), [o for o in got if o["msg"] == "catalog loaded"]
assert any(o["msg"] == "chimed ready" and o.get("pid", "").isdigit()
           for o in got)
' "$LOG" "$CATALOG"
check_fails "an unknown format is refused" 2 "$CHIMED" --data "$DATA" \
    --log-format xml
check "... saying which are known" grep -q \
    'log-format: expected logfmt or json' "$T/last"
finish
