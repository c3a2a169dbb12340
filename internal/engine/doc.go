// Package engine is the diagnosis: single-fault Bayes over the cause
// vocabulary, fix ordering by p_success / cost with re-planning after a
// failed fix, the value of asking a question, and the plain-words
// explanation. Everything here is a pure function of the knowledge base and
// the evidence; there is no I/O.
//
// # Model
//
// Each evidence symbol e is binary and, given the cause c, independent of
// the others: P(e | c) comes from the KB (a leak "base" for unlisted pairs).
// The posterior is P(c | E) ∝ P(c) · Π P(e = v | c) over the observed
// symbols. A fix f repairs cause c with probability r(f, c); its chance of
// success now is Σ_c P(c) r(f, c). The plan repeatedly takes the fix with the
// highest success / cost and conditions on its failure,
// P(c) ∝ P(c) (1 − r(f, c)), which is the optimal order when each fix
// repairs one cause (Kadane & Simon 1977) and the standard greedy rule
// otherwise (Heckerman, Breese & Rommelse 1995).
//
// # Correlated evidence
//
// Independence is wrong wherever several symptoms share one broken element,
// and naive Bayes then counts that element once per symptom. Three devices
// keep the product honest; all three live outside this package's arithmetic,
// so the engine stays a plain product:
//
//  1. Layers (package evidence). The path from this device to the service
//     is link → router → internet → resolver → service. A failure is charged
//     to the first layer that failed: once a layer is observed broken, the
//     failures beyond it are what that break predicts, so they are left
//     unknown rather than multiplied (successes beyond it are kept: they
//     contradict the break and must count). A dead uplink is one symptom,
//     internet_down (the outside resolvers, reached by address, and every
//     site fail and no connection to the service opens), not four.
//  2. Presentations (causes.yaml). A cause that shows in mutually exclusive
//     ways (an outage refuses, errs, crawls or presents a broken
//     certificate) has the likelihood Σ_m share_m Π_e P(e | c, m), so the
//     absence of one presentation's symptoms does not count against another.
//  3. Grades (evidence.yaml, `group`). One measurement is one categorical
//     symptom: its bands (signal -67/-75/-85 dBm; round trip 100/300 ms;
//     jitter 10/25 ms; lost connects 0/10 %; throughput SD/HD) are binary
//     symbols of which exactly one is observed and the rest stay unknown, so
//     P(band | cause) is multiplied once. The KB checks that each cause's
//     bands add up to 1.
//
// # Worked example: a dead uplink behind a router that answers
//
// NSEZ-503, the router answers, nothing beyond it does. Before layering the
// evidence was dns_system_fail, dns_trusted_fail, controls_fail and
// service_tcp_fail, all present, with gateway_fail absent; with the KB of
// that time (no presentations for the provider):
//
//	gateway_unreachable  0.050 · 0.95·0.95·0.95·0.95 · (1−0.98) = 0.050 · 0.0162
//	isp_routing          0.020 · 0.30·0.40·0.35·0.45 · (1−0.01) = 0.020 · 0.0187
//
// Four symptoms of one break outvoted the one direct measurement: "router
// not responding" (54 %) beside "[ok] Router answered". Charged to the first
// broken layer, the evidence is link_down absent, gateway_fail absent and
// internet_down present, and the provider's fault is a mixture of a cut
// (0.35), a partial route (0.25) and a slow path (0.40):
//
//	gateway_unreachable  0.050 · 0.95 · (1−0.98) · (1−0.003)                          = 0.050 · 0.019
//	isp_routing          0.020 · (0.35·0.95 + 0.25·0.05 + 0.40·0.01) · 0.99 · 0.997   = 0.020 · 0.344
//	captive_portal       0.010 · 0.50 · (1−0.01) · (1−0.003)                          = 0.010 · 0.494
//
// and the verdict is the provider (isp_routing 32 %, ahead of the captive
// portal; the router 3 %); TestWorkedExampleDeadUplink holds these numbers.
package engine
