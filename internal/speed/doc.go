// Package speed measures what streaming needs from a line: download and
// upload throughput over parallel HTTP streams, idle latency, latency under
// load (RPM), jitter and loss where the kernel can tell it, against a
// self-hosted server (Serve), Netflix's Open Connect servers through the
// fast.com API, or M-Lab's ndt7. A transfer stops as soon as its estimate
// is stable, or, for the check's quick sample, as soon as the line is
// clearly above or below what each quality needs; docs/speed.md has the
// stopping rules and what they were measured against.
package speed
