package probe

import (
	"encoding/json"
	"time"
)

// Status is the verdict of one observation.
type Status string

// Statuses.
const (
	OK      Status = "ok"
	Problem Status = "problem"
	NotRun  Status = "not_run"
)

// Observation is one measured fact; Failure is a stable code, never free text.
type Observation struct {
	Probe   string  `json:"probe"`
	Target  string  `json:"target"`
	Status  Status  `json:"status"`
	Failure string  `json:"failure"`
	Value   float64 `json:"value"`
	Detail  string  `json:"detail"`
	// Addrs are the addresses a DNS probe got (additive to report/v1).
	Addrs []string `json:"addrs,omitempty"`
	// Retries counts resent queries or connects (additive to report/v1).
	Retries  int           `json:"retries,omitempty"`
	Duration time.Duration `json:"-"`
}

// MarshalJSON writes duration_ms as the report/v1 schema asks.
func (o Observation) MarshalJSON() ([]byte, error) {
	type plain Observation
	return json.Marshal(struct {
		plain
		DurationMS float64 `json:"duration_ms"`
	}{plain(o), float64(o.Duration.Microseconds()) / 1000})
}
