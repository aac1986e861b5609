name = "triage"

dataset "vitals" {
  path      = "data/vitals.csv"
  format    = "csv"
  schema    = { patient_id = "string", temp = "float", spo2 = "float" }
  keys      = ["patient_id"]
  timestamp = "temp"
}

dataset "xrays" {
  path   = "data/xrays"
  format = "images"
}

stage "featurize" {
  image   = "lattice-test/python:3-numpy"
  code    = "src"
  cmd     = ["python3", "src/featurize.py", "--bins", "${params.bins}", "${inputs.vitals}", "${inputs.xrays}", "${outputs.features}"]
  env     = { OMP_NUM_THREADS = "1", MODE = "train" }
  secrets = ["API_TOKEN"]
  params  = { bins = 16, normalize = true, method = "zscore" }
  retries = 2
  timeout = "10m"

  resources {
    cpus   = 1.5
    memory = "2Gi"
  }

  input "vitals" { dataset = "vitals" }
  input "xrays" { dataset = "xrays" }
  output "features" {
    path = "out/features.csv"
    kind = "data"
  }
}

stage "train" {
  image   = "lattice-test/python:3-numpy"
  cmd     = ["python3", "src/train.py", "--lr", "${params.lr}"]
  params  = { lr = 0.1, epochs = 20, l2 = 0.001 }
  network = false
  cache   = true

  input "features" { stage = "featurize" }
  input "extra" { path = "data/extra.txt" }
  output "model" {
    path = "out/model.npz"
    kind = "model"
  }
}

stage "notify" {
  backend = "local"
  cmd     = ["sh", "-c", "echo done > ${outputs.receipt}"]
  cache   = false

  input "model" {
    stage  = "train"
    output = "model"
  }
  output "receipt" { path = "out/receipt.txt" }
}

experiment "sweep" {
  stage {
    image  = "lattice-test/python:3-numpy"
    cmd    = ["python3", "src/train.py", "--lr", "${params.lr}", "--l2", "${params.l2}", "--out", "${outputs.metrics}"]
    params = { epochs = 20 }

    input "features" { stage = "featurize" }
    output "metrics" {
      path = "out/sweep/metrics.json"
      kind = "metrics"
    }
  }
  space {
    grid = { lr = [0.01, 0.1, 0.3], l2 = [0, 0.01] }
  }
  metric "auc" { goal = "max" }
  metric "loss" { goal = "min" }
  select {
    by    = "auc"
    gates = ["auc >= 0.8", "loss < 0.7"]
  }
}
