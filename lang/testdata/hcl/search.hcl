# Experiments over a list and a random space; their stage templates use
# the space's parameters as placeholders.
version = 1

stage "prep" {
  image = "python:3.12"
  cmd   = ["python", "prep.py", "${outputs.table}"]
  output "table" {
    path = "out/table.parquet"
  }
}

experiment "listed" {
  stage {
    image  = "python:3.12"
    cmd    = ["python", "fit.py", "--depth", "${params.depth}", "--eta=${params.eta}", inputs.table]
    params = { seed = 7 }
    input "table" { stage = "prep" }
    output "scores" {
      path = "out/listed/scores.json"
      kind = "metrics"
    }
  }
  space {
    list = [
      { depth = 3, eta = 0.3 },
      { depth = 6, eta = 0.1 },
    ]
  }
  metric "rmse" {
    goal   = "min"
    output = "scores"
  }
  select {
    by = "rmse"
  }
}

experiment "drawn" {
  stage {
    image = "python:3.12"
    cmd   = ["python", "fit.py", "--lr=${params.lr}", "--layers=${params.layers}", "--opt=${params.opt}", "${outputs.scores}"]
    output "scores" {
      path = "out/drawn/scores.json"
      kind = "metrics"
    }
  }
  space {
    random {
      seed   = 1
      trials = 8
      param "lr" {
        min = 0.001
        max = 1
        log = true
      }
      param "layers" {
        min = 1
        max = 4
        int = true
      }
      param "opt" { values = ["adam", "sgd"] }
    }
  }
  metric "loss" { goal = "min" }
  select {
    by    = "loss"
    gates = ["loss < 0.5", "loss >= -1e3"]
  }
}
