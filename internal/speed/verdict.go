package speed

// Quality verdicts.
const (
	Enough    = "enough"
	Marginal  = "marginal"
	NotEnough = "not_enough"
)

// Headroom: a line that measures less than 25 % above a quality's need
// is marginal, because a stream's bitrate peaks above its average and other
// devices share the line.
const Headroom = 1.25

// Quality is one row of the verdict table.
type Quality struct {
	Name     string  `json:"name"` // SD, HD, 4K
	NeedMbps float64 `json:"need_mbps"`
	Verdict  string  `json:"verdict"`
}

// Judge compares a measured download rate with the needs of each quality.
func Judge(downMbps, sd, hd, uhd float64) []Quality {
	var out []Quality
	for _, q := range []struct {
		n string
		v float64
	}{{"SD", sd}, {"HD", hd}, {"4K", uhd}} {
		v := NotEnough
		switch {
		case downMbps >= q.v*Headroom:
			v = Enough
		case downMbps >= q.v:
			v = Marginal
		}
		out = append(out, Quality{q.n, q.v, v})
	}
	return out
}
