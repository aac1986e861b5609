// Package plan is Lattice's intermediate representation: the contract
// between the compiler, which produces a Plan from a spec, and the executor,
// which runs exactly what a Plan says.
//
// # What a plan holds
//
// A Plan lists every dataset with its content digest and every stage
// instance (declared stages and experiment trials) in topological order.
// Each Stage carries its Preimage — the complete description of its work:
// backend, platform, pinned image digest, code digest, argv after
// placeholder substitution, plain environment, secret names (never values),
// parameters, inputs with their content digests, declared outputs and
// network access — and its action key, the BLAKE3 digest of the
// pre-image's canonical text. Each stage also has an Action (run, cached,
// up-to-date) with a Reason and, against the lockfile, the field-by-field
// Changes. Stages the lockfile holds but the spec no longer declares are
// listed as Removed.
//
// # Invariants
//
//   - A plan is pure data. It has no methods that do I/O, and this package
//     imports only the standard library and compiler/digest.
//   - Nothing in a plan depends on the host: paths are project-relative and
//     there are no timestamps, so the same project planned in two
//     directories gives the same keys.
//   - A plan never says "known after apply". When an input comes from a
//     stage that will run, its digest is Pending and the stage's Key is
//     empty; its action is run, with the reason "upstream changed". The
//     executor completes the pre-image with the upstream outputs' digests
//     and computes the key with the same Preimage.Key, so a re-run that
//     reproduces identical outputs lets its dependents hit the cache (early
//     cutoff).
//   - Secret values never appear: only their names.
//   - JSON arrays are never null (Fill), and FormatVersion changes only when
//     a field changes meaning or disappears.
//
// # Keys
//
// Preimage.Lines is the canonical text: a version line ("lattice-action-key
// 1"), the global Salt, then one "FIELD VALUE" line per field with Go-quoted
// strings and lists sorted by name. `lattice plan --explain STAGE` prints
// it. Resources, retries and timeouts are deliberately not in the key: they
// do not change what a successful run produces.
//
// # Lockfile data
//
// Lock is the parsed form of lattice.lock (the text format lives in
// executor/lockfile): per dataset its digest, per stage its key, the
// pre-image it came from and its output digests. Keeping the pre-image lets
// a plan explain, field by field, why a stage's key moved, even on a fresh
// clone with no local state.
package plan
