# Every kind of value an attribute can hold, and the HCL spellings that
# must come out as the same CUE value.
name = "values-\u00e9t\u00e9"

stage "all" {
  image = "python:3.12"
  cmd = [
    "sh", "-c",
    "echo $${HOME} ${params.small} > ${outputs.out}",
    "tab\there",
    "quote\"back\\slash",
    "\\(not an interpolation)",
    "${params.a} and ${params.b}",
    params.ratio,
    1 == 1 ? "literal ${params.ratio}" : "never",
  ]
  params = {
    small  = 0.10
    ratio  = 2.50
    a      = 1e3
    b      = 1E-3
    n      = 007
    neg    = -12
    negf   = -0.5
    sum    = 1 + 2
    third  = 1 / 4
    fuzzy  = 0.1 + 0.2
    scaled = 2.0 * 3
    big    = 123456789012345678901234567890
    on     = true
    off    = !true
    "quoted key" = "k"
    nested = { inner = { deep = [1, "two", false] } }
  }
  env = {
    "A-B"  = "dash"
    _under = "hidden in CUE unless quoted"
    "#def" = "a definition in CUE unless quoted"
    if     = "keyword"
    ("computed") = "key"
  }
  script = <<-EOT
    echo ${params.small}
    echo done
  EOT
  output "out" {
    path = "out/all.txt"
  }
}

stagee "typo" {
  image = "x"
}

unknownblock {
  x = 1
}
