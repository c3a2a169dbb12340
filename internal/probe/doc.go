// Package probe measures the machine and the network and returns
// Observations: one measured fact each, with a stable failure code. Probes
// never print and never decide causes.
//
// Every probe runs concurrently under its own deadline (bounded by the whole
// check's), honours context cancellation, and turns a panic into a "not run"
// observation. All network access goes through Env, so the same code runs
// against the real network or against the loopback servers of the fault lab.
// Errors become failure strings in exactly one place: Classify.
package probe
