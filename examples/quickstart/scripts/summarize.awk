# summarize.awk reduces clean readings to one line per ward: its patients,
# its readings, the mean and highest temperature, and how many readings
# showed oxygen saturation below -v low=N. It writes a CSV, sorted by ward,
# to -v summary=PATH and the totals as a JSON object of numbers to
# -v metrics=PATH. Run with -F, on the output of clean.awk.

BEGIN {
	if (summary == "" || metrics == "" || low == "") {
		print "summarize.awk: set -v summary=PATH, -v metrics=PATH and -v low=N" > "/dev/stderr"
		failed = 1
		exit 2
	}
}

FNR == 1 { next }

{
	w = $1
	t = $4 + 0
	isLow = ($5 + 0 < low + 0)
	readings[w]++
	tsum[w] += t
	if (!(w in tmax) || t > tmax[w]) tmax[w] = t
	lows[w] += isLow
	if (!((w, $2) in seen)) { seen[w, $2] = 1; patients[w]++; npatients++ }
	n++
	nlow += isLow
}

END {
	if (failed) exit
	print "ward,patients,readings,mean_temperature,max_temperature,low_spo2" > summary
	close(summary)
	# awk visits array keys in no particular order; sort for stable output.
	sorter = "sort >> " summary
	for (w in readings)
		printf "%s,%d,%d,%.2f,%.1f,%d\n", w, patients[w], readings[w], tsum[w] / readings[w], tmax[w], lows[w] | sorter
	close(sorter)
	printf "{\"patients\": %d, \"readings\": %d, \"low_spo2_share\": %.4f}\n", npatients, n, (n ? nlow / n : 0) > metrics
}
