# clean.awk keeps the readings that are complete and plausible. It copies
# the header and every good row to the file named by -v clean=PATH, and
# lists every other row, with its line number and the reason, in the file
# named by -v rejected=PATH. Run with -F, on a CSV of
# ward,patient_id,taken_at,temperature,spo2.

function reject(reason) {
	printf "line %d: %s: %s\n", FNR, reason, $0 > rejected
	nrejected++
}

function number(s) { return s ~ /^[0-9]+(\.[0-9]+)?$/ }

BEGIN {
	if (clean == "" || rejected == "") {
		print "clean.awk: set -v clean=PATH and -v rejected=PATH" > "/dev/stderr"
		failed = 1
		exit 2
	}
	# The rejected file exists even when nothing is rejected.
	printf "" > rejected
}

FNR == 1 {
	if ($0 != "ward,patient_id,taken_at,temperature,spo2") {
		print "clean.awk: unexpected header: " $0 > "/dev/stderr"
		failed = 1
		exit 1
	}
	print > clean
	next
}

NF != 5 { reject("has " NF " fields, want 5"); next }
!number($4) { reject("temperature \"" $4 "\" is not a number"); next }
$4 < 30 || $4 > 45 { reject("temperature " $4 " is outside 30-45"); next }
$5 !~ /^[0-9]+$/ { reject("spo2 \"" $5 "\" is not a whole number"); next }
$5 < 50 || $5 > 100 { reject("spo2 " $5 " is outside 50-100"); next }
{ print > clean; nkept++ }

END {
	# exit runs the END action too; a failed run writes nothing more.
	if (failed) exit
	printf "kept %d readings, rejected %d\n", nkept, nrejected
}
