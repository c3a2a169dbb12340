// Package engine is the diagnosis: single-fault Bayes over the cause
// vocabulary, with causes that show in several exclusive ways
// (presentations), the plan ordered by p_success / cost and re-planned after
// a failed fix, the value of asking a question, and the plain-words
// explanation. Everything here is a pure function of the knowledge base and
// the evidence; there is no I/O. docs/model.md explains the model, how it
// keeps correlated symptoms from being counted twice, and a worked example.
//
// The plain check's prior. With no error code, the priors are the causes'
// own (causes.yaml's `prior`): "none" 0.30, because StreamDoctor is opened
// when something failed and by the time of a check without a code about a
// third of those failures have passed. That prior is strong, so a measured
// symptom that by itself stops streaming must outweigh it: the leaks of
// such symptoms (a sample under 5 Mbps, every round trip over 300 ms, a
// signal below -75 dBm, the service failing while other sites answer) are
// what a line without that fault shows — well under one check in a
// hundred — not what a healthy-looking average shows. A 3 Mbps line, a
// steady 550 ms path or a -100 dBm signal is then named, not "No problem
// found"; and a report never says "No problem found" under a problem row
// (report.Build names the row as worth knowing instead).
package engine
