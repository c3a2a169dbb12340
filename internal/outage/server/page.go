package server

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Is it down? — StreamDoctor crowd reports</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a}
h1{font-size:1.5rem}.svc{border:1px solid #ccc;border-radius:.5rem;padding:1rem;margin:1rem 0}
.normal{color:#0a6b2d}.elevated{color:#8a5a00}.outage{color:#b00020}
svg{width:100%;height:auto;background:#fafafa}
.legend span{display:inline-block;margin-right:1rem}
</style></head><body>
<h1>Is it down for everyone?</h1>
<p>Reports from StreamDoctor users who still could not watch, counted per five minutes over the last 24 hours, against what is usual for that hour of the week.</p>
{{range .}}<section class="svc" aria-labelledby="h-{{.Status.Service}}">
<h2 id="h-{{.Status.Service}}">{{.Title}}: <span class="{{.Status.Status}}">{{.Words}}</span></h2>
<p>{{.Status.Reports15m}} reports from {{.Status.Networks15m}} networks in the last 15 minutes{{with .Status.WorstRegion}} in {{.}}{{end}}; usually about {{printf "%.1f" .Status.Baseline15}}. {{.SinceWords}}</p>
<svg viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="Reports per five minutes over the last 24 hours for {{.Title}}">
<polygon points="{{.Band}}" fill="#dde8f5"/>
<polyline points="{{.Base}}" fill="none" stroke="#5b7fa8" stroke-width="1.5"/>
{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}"/>{{end}}
<text x="4" y="14" font-size="12" fill="#444">{{.Max}} reports</text>
<text x="4" y="{{.H}}" dy="-4" font-size="12" fill="#444">24 h ago</text>
<text x="{{.W}}" y="{{.H}}" dx="-4" dy="-4" font-size="12" fill="#444" text-anchor="end">now</text>
</svg>
<p class="legend"><span>▮ reports</span><span style="color:#5b7fa8">— usual</span><span style="color:#7a9cc6">▭ normal range</span></p>
</section>{{end}}
<p>Each network (a /24 or /48) counts once per service every 30 minutes. Stored for each report: the service, the error code, the country if given, the five-minute slot, and a hash of the network under a key that is deleted every day. No address, no browser, no id in clear.</p>
</body></html>
`))

type bar struct {
	X, Y, W, H float64
	Fill       string
}

type pageSvc struct {
	Status       outage.Status
	Title, Words string
	SinceWords   string
	W, H         int
	Band, Base   string
	Bars         []bar
	Max          int
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	// The page is the same for everyone: drawn once per StatusCache.
	v, err := s.cached(cacheKey{kind: kindPage}, func(now time.Time) (any, error) {
		var out []pageSvc
		for _, svc := range s.cfg.Services {
			c, err := s.statusOf(r.Context(), svc, "", true)
			if err != nil {
				return nil, err
			}
			out = append(out, chart(c.st, c.total, s.cfg.Params, now))
		}
		var b bytes.Buffer
		if err := pageTmpl.Execute(&b, out); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	})
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(v.([]byte))
}

// chart draws the last 24 hours of all the service's reports (every
// region): bars of reports per bucket, the baseline and the band up to its
// 99.9 % Poisson quantile.
func chart(st outage.Status, all *Series, p Params, now time.Time) pageSvc {
	ser := Series{}
	if all != nil {
		ser = *all
	}
	const n = 288
	const W, H = 864, 200
	b := now.Unix() / BucketSeconds
	ps := pageSvc{Status: st, Title: strings.ToUpper(st.Service[:1]) + st.Service[1:], W: W, H: H}
	ps.Words = map[string]string{outage.Normal: "working normally", outage.Elevated: "more reports than usual", outage.Outage: "likely down for many people"}[st.Status]
	if st.Status != outage.Normal {
		ps.SinceWords = "Since " + st.Since.Format("15:04 MST") + "."
	}
	base, upper := make([]float64, n), make([]float64, n)
	top := 1
	e := &evaluator{s: ser, p: p}
	quantile := map[float64]int{}
	for i := range n {
		bk := b - int64(n-1-i)
		base[i] = e.baseline(bk)
		c, ok := quantile[base[i]]
		if !ok {
			c = int(base[i])
			for PoissonTail(c, base[i]) > 1e-3 {
				c++
			}
			quantile[base[i]] = c
		}
		upper[i] = float64(c)
		top = max(top, ser.Counts[bk], c)
	}
	ps.Max = top
	y := func(v float64) float64 { return H - 20 - v/float64(top)*(H-40) }
	bw := float64(W) / n
	var band, line strings.Builder
	for i := range n {
		fmt.Fprintf(&band, "%.1f,%.1f ", float64(i)*bw, y(upper[i]))
		fmt.Fprintf(&line, "%.1f,%.1f ", float64(i)*bw, y(base[i]))
	}
	fmt.Fprintf(&band, "%.1f,%.1f 0,%.1f", float64(W), y(0), y(0))
	ps.Band, ps.Base = band.String(), line.String()
	for i := range n {
		c := ser.Counts[b-int64(n-1-i)]
		if c == 0 {
			continue
		}
		fill := "#3d3d3d"
		if float64(c) > upper[i] {
			fill = "#b00020"
		}
		ps.Bars = append(ps.Bars, bar{X: float64(i) * bw, Y: y(float64(c)), W: bw * 0.8, H: y(0) - y(float64(c)), Fill: fill})
	}
	return ps
}
