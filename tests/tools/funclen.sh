#!/bin/sh
# tests/tools/funclen.sh - function lengths of C sources, from universal-ctags:
# a function's lines are its definition's, from its first line to its
# closing brace.  Prints the mean, the count and the longest; exits 1 when
# one is longer than MAX or the mean is above MEAN.
#   tests/tools/funclen.sh [-m MAX] [-a MEAN] [-n SHOW] DIR...
max=60 mean=16 show=5
while getopts m:a:n: o; do
	case $o in
	m) max=$OPTARG ;;
	a) mean=$OPTARG ;;
	n) show=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-m MAX] [-a MEAN] [-n SHOW] DIR..." >&2; exit 2; }
command -v ctags >/dev/null || { echo "$0: universal-ctags is needed" >&2; exit 2; }
find "$@" -name '*.c' -print | sort | xargs ctags --fields=+ne --kinds-C=f -o - |
	awk -F '\t' -v max="$max" -v mean="$mean" -v show="$show" -v dirs="$*" '
	{
		line = end = 0
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^line:/) line = substr($i, 6)
			if ($i ~ /^end:/) end = substr($i, 5)
		}
		if (line == 0 || end == 0) next
		n++; len = end - line + 1; total += len
		if (len > max) over++
		row[n] = sprintf("%6d  %s:%d  %s", len, $2, line, $1)
		key[n] = len
	}
	END {
		if (n == 0) { print "funclen: no function in " dirs; exit 2 }
		# the longest first (a few: a selection, not a sort of all)
		for (k = 1; k <= show && k <= n; k++) {
			best = 0
			for (i = 1; i <= n; i++) if (!(i in done) && (best == 0 || key[i] > key[best])) best = i
			done[best] = 1; top[k] = row[best]
		}
		printf "funclen: %s: %d functions, mean %.1f lines, %d over %d\n", dirs, n, total / n, over, max
		for (k = 1; k <= show && k <= n; k++) print top[k]
		if (over > 0 || total / n > mean) {
			printf "funclen: FAIL: want none over %d lines and a mean of at most %s\n", max, mean
			exit 1
		}
	}'
