#!/bin/bash
# tests/tools/test_times.sh DIR - where a test run's time went: reads the
# Check XML logs run_tests wrote with PTSHADOW_TEST_XML=DIR (common.xml and
# one per backend) and prints each suite's total per pass, slowest first,
# then the 25 slowest tests.  `make test-times` runs the tests and this.
set -eu
dir=${1:?usage: test_times.sh DIR}
shopt -s nullglob
logs=("$dir"/*.xml)
if [ ${#logs[@]} -eq 0 ]; then
	echo "test_times: no Check XML log in $dir" >&2
	exit 2
fi
rows=$(for f in "${logs[@]}"; do
	pass=$(basename "$f" .xml)
	awk -v pass="$pass" '
		/<title>/   { gsub(/.*<title>|<\/title>.*/, ""); suite = $0 }
		/<test[ >]/ { intest = 1 }
		/<\/test>/  { intest = 0 }
		/<id>/      { gsub(/.*<id>|<\/id>.*/, ""); id = $0 }
		intest && /<duration>/ { gsub(/.*<duration>|<\/duration>.*/, "");
		              if ($0 + 0 >= 0) printf "%s\t%s\t%s\t%.2f\n", pass, suite, id, $0 }
	' "$f"
done)
echo "== seconds per suite and pass"
printf '%s\n' "$rows" | awk -F'\t' '{ t[$1 " " $2] += $4; n[$1 " " $2]++; all += $4 }
	END { for (k in t) printf "%8.1f  %-28s %4d tests\n", t[k], k, n[k];
	      printf "%8.1f  in all\n", all }' | sort -rn
echo "== the 25 slowest tests"
printf '%s\n' "$rows" | sort -t$'\t' -k4,4 -rn | head -25 |
	awk -F'\t' '{ printf "%8.1f  %s %s %s\n", $4, $1, $2, $3 }'
