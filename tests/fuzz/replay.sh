#!/bin/bash
# Replays the fuzz corpus through the reader (built without libFuzzer).
set -u
REPLAY=${REPLAY:-build/normal/fuzz-replay}
CORPUS=${CORPUS:-tests/fuzz/corpus}
echo "1..2"
n=$(find "$CORPUS" -type f | wc -l)
if [ "$n" -ge 10 ]; then echo "ok 1 - corpus has $n inputs"; else echo "not ok 1 - corpus has only $n inputs"; fi
if out=$("$REPLAY" "$CORPUS" 2>&1); then
	echo "ok 2 - $out, no crash"
else
	echo "not ok 2 - replay failed"
	echo "$out" | sed 's/^/# /'
fi
