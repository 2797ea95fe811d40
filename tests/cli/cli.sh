#!/bin/bash
# The command-line contract (../shared/CLI.md): exit codes, help, usage
# errors, and `cryo show` on good and bad images. TAP, run by prove.
set -u
CRYO=${CRYO:-./cryo}
CORPUS=${CORPUS:-tests/fuzz/corpus}
VALID=$CORPUS/valid-tree
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }

# expect CODE DESCRIPTION -- COMMAND...: exit code, output in $tmp/out and $tmp/err
expect() {
	local want=$1 what=$2 got
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
		not_ok "$what: exit $got, wanted $want"
		sed 's/^/# /' "$tmp/err" | head -5
	fi
}

# one_error_line DESCRIPTION PATTERN: stderr is one line, starts with cryo:, matches
one_error_line() {
	local lines
	lines=$(wc -l <"$tmp/err")
	if [ "$lines" -eq 1 ] && grep -q '^cryo: ' "$tmp/err" && grep -qE "$2" "$tmp/err"; then
		ok "$1: one clear error line"
	else
		not_ok "$1: stderr is not one matching line"
		sed 's/^/# /' "$tmp/err" | head -5
	fi
}

expect 2 "no arguments is a usage error" -- "$CRYO"
grep -q '^usage: cryo' "$tmp/err" && ok "no arguments prints usage" || not_ok "no arguments prints usage"
expect 0 "--help" -- "$CRYO" --help
for c in checkpoint restart show check; do
	grep -q "^  $c " "$tmp/out" && ok "--help lists $c" || not_ok "--help lists $c"
done
expect 0 "--version" -- "$CRYO" --version
grep -qE '^cryo [0-9]+\.[0-9]+\.[0-9]+ \(image format [0-9]+\.[0-9]+\)$' "$tmp/out" &&
	ok "--version format" || not_ok "--version format"
for c in checkpoint dump restart restore show check; do
	expect 0 "help $c" -- "$CRYO" help "$c"
	grep -q '^usage: cryo' "$tmp/out" && ok "help $c shows usage" || not_ok "help $c shows usage"
done
expect 0 "show --help" -- "$CRYO" show --help
expect 2 "help of an unknown command" -- "$CRYO" help frobnicate
expect 2 "unknown command" -- "$CRYO" frobnicate
expect 2 "unknown option" -- "$CRYO" show --frob "$VALID"
expect 2 "checkpoint without pid" -- "$CRYO" checkpoint
expect 2 "checkpoint with a pid out of range" -- "$CRYO" checkpoint 99999999999
head -1 "$tmp/err" | grep -q "^cryo: '99999999999' is not a pid$" && ok "usage error names the bad pid" ||
	not_ok "usage error names the bad pid"
# not all digits: a session's name (doc/sessions.md)
expect 1 "checkpoint of a session that does not exist" -- "$CRYO" checkpoint abc
one_error_line "no such session" "session abc: no such session; see cryo ls"
expect 2 "checkpoint with two pids" -- "$CRYO" checkpoint 1 2
expect 1 "checkpoint of a pid that does not exist" -- "$CRYO" checkpoint 4194303
one_error_line "missing pid" "pid 4194303: no such process"
expect 2 "restart with a bad --tty" -- "$CRYO" restart --tty=blue "$VALID"
expect 2 "checkpoint with a bad --precopy" -- "$CRYO" checkpoint --precopy=sometimes 1
head -1 "$tmp/err" | grep -q "^cryo: --precopy takes auto, always or never, not 'sometimes'$" &&
	ok "the --precopy usage error names the bad value" ||
	not_ok "the --precopy usage error names the bad value"
expect 2 "checkpoint --track --kill" -- "$CRYO" checkpoint --track --kill 1
expect 2 "restart with two images" -- "$CRYO" restart a b
expect 2 "show without image" -- "$CRYO" show
expect 1 "--log-file in a missing directory" -- "$CRYO" --log-file /nonexistent/x.log show "$VALID"

# show: a valid image, human and JSON
expect 0 "show a valid image" -- "$CRYO" show "$VALID"
for t in header task task_objs mm vma pages file fdtable fd task_core sigactions sigpending creds rlimits fs regs xstate trailer; do
	grep -qE "^ +[0-9]+  $t " "$tmp/out" && ok "show prints a $t record" || not_ok "show prints a $t record"
done
grep -q 'path="/usr/bin/true"' "$tmp/out" && ok "show prints the file path" || not_ok "show prints the file path"
expect 0 "show --json" -- "$CRYO" show --json "$VALID"
if perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>); exit(@{$d->{records}} == 24 ? 0 : 1)' <"$tmp/out"; then
	ok "show --json is JSON with every record"
else
	not_ok "show --json is JSON with every record"
fi
# terminal records: decoded, JSON too; restart refuses them until ptys are restored
expect 0 "show an image with a pty pair" -- "$CRYO" show "$CORPUS/tty-pair"
for t in devpts tty_master tty_slave tty_file tty_input tty_output ctty; do
	grep -qE "^ +[0-9]+  $t " "$tmp/out" && ok "show prints a $t record" || not_ok "show prints a $t record"
done
grep -q 'seg1_end0="c\\x00d"' "$tmp/out" && ok "show prints queued input byte for byte" ||
	not_ok "show prints queued input byte for byte"
expect 0 "show --json of the pty image" -- "$CRYO" show --json "$CORPUS/tty-pair"
perl -MJSON::PP -e 'local $/; decode_json(<STDIN>)' <"$tmp/out" && ok "its JSON parses" ||
	not_ok "its JSON parses"

# a real checkpoint image (tests/fuzz/corpus/real-loop): every record type it holds decodes to JSON
expect 0 "show --json of a real checkpoint image" -- "$CRYO" show --json "$CORPUS/real-loop"
if perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>);
	my %t = map { $_->{type} => 1 } @{$d->{records}};
	exit(($t{regs} && $t{xstate} && $t{pages} && $t{task_core}) ? 0 : 1)' <"$tmp/out"; then
	ok "the real image's JSON has registers, XSAVE, pages and task state"
else
	not_ok "the real image's JSON has registers, XSAVE, pages and task state"
fi
# a real image of a program with three ptys and their queues (tests/fuzz/corpus/real-pty)
expect 0 "show --json of a real pty image" -- "$CRYO" show --json "$CORPUS/real-pty"
if perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>);
	my %t; $t{$_->{type}}++ for @{$d->{records}};
	exit(($t{devpts} == 1 && $t{tty_master} == 3 && $t{tty_slave} == 3 && $t{tty_input} == 3 &&
	      $t{tty_output}) ? 0 : 1)' <"$tmp/out"; then
	ok "it holds one devpts, three pairs, their input and output"
else
	not_ok "it holds one devpts, three pairs, their input and output"
fi
# a reader that stops early (| head) is not an error worth a message
"$CRYO" show "$CORPUS/real-pty" 2>"$tmp/err" | (exec <&-; sleep 0.3) # reads nothing at all
[ ! -s "$tmp/err" ] && ok "show | head: no message on stderr" ||
	not_ok "show | head: no message on stderr ($(head -n 1 "$tmp/err"))"
"$CRYO" show "$CORPUS/real-pty" >/dev/full 2>"$tmp/err"
grep -q "cannot write the decoded image" "$tmp/err" && ok "show to a full device: one error line" ||
	not_ok "show to a full device: one error line"
expect 0 "show from stdin" -- sh -c "\"$CRYO\" show - <\"$VALID\""
expect 0 "show --json -v --log-file" -- "$CRYO" show --json -v --log-file "$tmp/log" "$VALID"

# show: bad images exit 1 with one line naming the offset
head -c 4096 /dev/urandom >"$tmp/random"
expect 1 "show random bytes" -- "$CRYO" show "$tmp/random"
one_error_line "random bytes" "offset 0: not a cryo image"
size=$(stat -c %s "$VALID")
head -c $((size - 100)) "$VALID" >"$tmp/truncated"
expect 1 "show a truncated image" -- "$CRYO" show "$tmp/truncated"
one_error_line "truncated image" "offset [0-9]+.*(truncated|past the end)"
for off in 20 150 300 700 $((size - 3000)) $((size - 8)); do
	cp "$VALID" "$tmp/flipped"
	printf '\x5a' | dd of="$tmp/flipped" bs=1 seek="$off" conv=notrunc status=none
	cmp -s "$VALID" "$tmp/flipped" && printf '\xa5' | dd of="$tmp/flipped" bs=1 seek="$off" conv=notrunc status=none
	expect 1 "show an image with byte $off changed" -- "$CRYO" show "$tmp/flipped"
	one_error_line "byte $off changed" "offset [0-9]+"
done
: >"$tmp/empty"
expect 1 "show an empty file" -- "$CRYO" show "$tmp/empty"
one_error_line "empty file" "not a cryo image"
expect 1 "show a missing file" -- "$CRYO" show "$tmp/missing"
one_error_line "missing file" "cannot read image: No such file"
expect 1 "show a directory" -- "$CRYO" show "$tmp"
one_error_line "directory" "cannot read image: Is a directory"
expect 1 "restart refuses an invalid image" -- "$CRYO" restart "$tmp/truncated"
one_error_line "restart of a truncated image" "invalid image"
echo "1..$n"
