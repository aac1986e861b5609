# A complete spec: datasets, stages with every kind of input and an
# experiment over a grid.
version = 1
name    = "covid-triage"

dataset "vitals" {
  path   = "data/vitals.csv"
  format = "csv"
  schema = { patient_id = "string", temp = "float" }
  keys   = ["patient_id"]
}

stage "ingest" {
  image = "lattice-test/python:3-numpy"
  cmd   = ["python3", "ingest.py", "${outputs.clean}"]
  output "clean" {
    path = "out/clean"
  }
}

stage "featurize" {
  image   = "lattice-test/python:3-numpy"
  code    = "src"
  cmd     = ["python3", "src/featurize.py", "--lr", "${params.lr}", "${inputs.vitals}", "${outputs.features}"]
  env     = { OMP_NUM_THREADS = "1" }
  secrets = ["API_TOKEN"]
  params  = { lr = 0.1, epochs = 10, name = "x", flag = true }
  retries = 2
  timeout = "10m"
  resources {
    cpus   = 1.5
    memory = "2Gi"
  }

  input "vitals" { dataset = "vitals" }
  input "raw" { path = "data/raw" }
  input "prev" {
    stage  = "ingest"
    output = "clean"
  }
  output "features" {
    path = "out/features.csv"
    kind = "data"
  }
}

experiment "sweep" {
  stage {
    image = "lattice-test/python:3-numpy"
    cmd   = ["python3", "train.py", "--lr=${params.lr}", "--l2=${params.l2}", "${inputs.features}", "${outputs.metrics}"]
    input "features" { stage = "featurize" }
    output "metrics" {
      path = "out/sweep/metrics.json"
      kind = "metrics"
    }
  }
  space {
    grid = { lr = [0.1, 0.3], l2 = [0, 0.01] }
  }
  metric "auc" { goal = "max" }
  select {
    by    = "auc"
    gates = ["auc >= 0.8"]
  }
}
