# report.awk renders the ward summary as a plain-text report in the file
# named by -v report=PATH. Its inputs are the summary CSV, then the
# rejected-rows file. Set -v title=TEXT and -v low=N (the spo2 cut-off the
# summary used).

BEGIN {
	if (report == "") {
		print "report.awk: set -v report=PATH" > "/dev/stderr"
		failed = 1
		exit 2
	}
}

FNR == 1 { file++ }

file == 1 && FNR == 1 {
	print title > report
	print "" > report
	printf "%-4s  %8s  %8s  %9s  %8s  %9s\n", "ward", "patients", "readings", "mean temp", "max temp", "spo2 < " low > report
	next
}

file == 1 {
	split($0, f, ",")
	printf "%-4s  %8d  %8d  %9.2f  %8.1f  %9d\n", f[1], f[2], f[3], f[4], f[5], f[6] > report
	kept += f[3]
	next
}

file == 2 { rejected++ }

END {
	if (failed) exit
	print "" > report
	printf "%d readings kept, %d rejected.\n", kept, rejected > report
}
