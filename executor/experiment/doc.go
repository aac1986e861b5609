// Package experiment ranks the trials of an experiment and judges its
// winner: it orders trials by the experiment's select metric according to
// that metric's goal, picks the best one, checks it against the
// experiment's gates, and compares two trials side by side.
//
// It is pure: callers read the metrics (from the workspace's metrics
// outputs or from run records) and pass them in, so the same rules serve
// `lattice exp show`, `lattice exp diff` and anything else that needs to
// know which trial won.
//
// # Invariants
//
//   - Ranking is deterministic: trials that tie keep the order the plan
//     declares them in, and trials without the select metric (not run yet,
//     failed, or not reporting it) come last, in declared order.
//   - A trial without the select metric never wins; with no trial reporting
//     it there is no winner, and an experiment without a winner has not
//     passed its gates.
//   - A gate on a metric the winner does not report fails: a missing number
//     is not evidence that a model is good enough.
package experiment
