// Package engine is the diagnosis: single-fault Bayes over the cause
// vocabulary, with causes that show in several exclusive ways
// (presentations), the plan ordered by p_success / cost and re-planned after
// a failed fix, the value of asking a question, and the plain-words
// explanation. Everything here is a pure function of the knowledge base and
// the evidence; there is no I/O. docs/model.md explains the model, how it
// keeps correlated symptoms from being counted twice, and a worked example.
package engine
