// Package engine is the diagnosis: single-fault Bayes over the cause
// vocabulary, fix ordering by p_success / cost with re-planning after a
// failed fix, the value of asking a question, and the plain-words
// explanation. Everything here is a pure function of the knowledge base and
// the evidence; there is no I/O.
//
// Model. Each evidence symbol e is binary and, given the cause c, independent
// of the others: P(e | c) comes from the KB (a leak "base" for unlisted
// pairs). The posterior is P(c | E) ∝ P(c) · Π P(e = v | c) over the observed
// symbols. A fix f repairs cause c with probability r(f, c); its chance of
// success now is Σ_c P(c) r(f, c). The plan repeatedly takes the fix with the
// highest success / cost and conditions on its failure,
// P(c) ∝ P(c) (1 − r(f, c)), which is the optimal order when each fix
// repairs one cause (Kadane & Simon 1977) and the standard greedy rule
// otherwise (Heckerman, Breese & Rommelse 1995).
package engine
