# {{.Name}}: a small pipeline to start from. It sums a column of a CSV file
# on the host, then writes a one-line report. Run `lattice plan` to see what
# would run and `lattice apply` to run it.
name = "{{.Name}}"

dataset "numbers" {
  path   = "data/numbers.csv"
  format = "csv"
  schema = { id = "int", value = "float" }
  keys   = ["id"]
}

stage "total" {
  backend = "local"
  cmd     = ["sh", "-c", "awk -F, 'NR > 1 { s += $2 } END { print s }' ${inputs.numbers} > ${outputs.total}"]

  input "numbers" { dataset = "numbers" }
  output "total" { path = "out/total.txt" }
}

stage "report" {
  backend = "local"
  params  = { label = "sum of values" }
  cmd     = ["sh", "-c", "printf '%s: %s\\n' \"${params.label}\" \"$(cat ${inputs.total})\" > ${outputs.report}"]

  input "total" { stage = "total" }
  output "report" { path = "out/report.txt" }
}
