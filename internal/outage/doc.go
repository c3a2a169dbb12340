// Package outage is the crowd outage service: the one vantage point outside
// the viewer's network. From one computer, "the service is down" and "my
// network blocks it" look the same on the wire; many viewers reporting at
// once tell them apart.
//
// # What it stores
//
// A report is {service, code, region, client}. The server keeps, per
// report: the service, the error code, the country (ISO 3166-1 alpha-2, or
// empty), the five-minute slot it arrived in, and HMAC-SHA256(day key,
// service, client id) cut to 128 bits. The day key is random, lives in the
// database (so every instance hashes alike) and is deleted when its day is
// over; from then on no hash can be tied to an id. No IP address, user
// agent or clear id is stored; per-address rate limits live in memory only
// and are forgotten after ten idle minutes. Raw reports are deleted after
// 14 days; the five-minute counts per service and country that the
// baseline is built from, after 8 weeks. A client counts once per service
// per 30 minutes (a repeat is answered 202 like any report, so the answer
// says nothing about what was stored).
//
// # How it decides
//
// All state is in the database (SQLite by default, PostgreSQL when several
// instances share it), and the status is computed from it alone, so every
// instance gives the same answer.
//
//   - Baseline λ (reports per five minutes) for the current hour of the
//     week: the median, over the past four weeks, of that hour's mean. The
//     median keeps one past outage from raising it. With under a week of
//     history (cold start), the mean of the past day up to an hour ago;
//     with under two hours, none. Never below a floor of 0.2 (one report
//     per 25 minutes).
//   - Two windows, both ending now: short = this five-minute bucket so far
//     and the one before (5–10 minutes), long = this bucket and the two
//     before (10–15 minutes, reported as reports_15m). Each is tested
//     against Poisson(λ × its exposure): significant when the upper tail
//     P(X ≥ count) < 1e-5 and the count reaches a minimum (3 viewers short,
//     5 long).
//   - "outage" when both windows are significant, "elevated" when one is,
//     else "normal".
//   - Hysteresis: the status is replayed over the last six hours of
//     buckets. It steps up at once; it steps down only after two
//     evaluations in a row in which even a 1e-2 tail no longer flags it.
//     "since" is when the current status began (at most six hours back).
//
// bench/outage-detect replays a synthetic month (daily and weekly cycles,
// Poisson noise, 1.5 to 7.8 reports per five minutes) through Evaluate on
// a simulated clock: no false outage in eight seeded months; a 5× surge is
// called an outage in a median of 4 to 8 minutes, the slowest (in the
// quietest hours, where a 5× surge is 7 reports per 5 minutes) in 10 to 24;
// a 10× surge in 2 to 5 minutes.
//
// Writes go through one goroutine that commits the reports arriving
// together in one transaction and answers each only after the commit, so
// a 202 is never lost to a crash (SQLite in WAL mode, synchronous=NORMAL:
// safe against the process dying, as the kill -9 test shows; a power cut
// may lose the last commits).
package outage
