package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

// SpeedFunc runs the full speed test, calling progress with live samples.
type SpeedFunc func(ctx context.Context, progress func(direction string, mbps float64)) (*report.Speed, error)

// speedPage is the speed test's own page.
func (s *Server) speedPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = speedTmpl.Execute(w, map[string]string{"Service": s.cfg.Profile.Title})
}

// sampleView is one live figure.
type sampleView struct {
	Direction string  `json:"direction"`
	Mbps      float64 `json:"mbps"`
}

// qualityView is one quality's verdict in plain words.
type qualityView struct {
	Name    string `json:"name"`
	Need    string `json:"need"`
	Verdict string `json:"verdict"`
	Plain   string `json:"plain"`
}

// speedView is the finished test as the page shows it.
type speedView struct {
	Down, Up          float64
	IdleMS, LoadedMS  float64
	Server, Backend   string
	Qualities         []qualityView
	Headline, Seconds string
}

var qualityWords = map[string]string{speed.Enough: "Enough", speed.Marginal: "Just enough — it may pause when others use the line", speed.NotEnough: "Not enough"}

func viewSpeed(sp *report.Speed, service string) speedView {
	v := speedView{Down: sp.DownMbps, Up: sp.UpMbps, IdleMS: sp.IdleRTTms, LoadedMS: sp.LoadedRTTms, Server: sp.Server, Backend: sp.Backend,
		Seconds: fmt.Sprintf("%.1f s", sp.Seconds)}
	best := ""
	for _, q := range sp.Verdicts {
		v.Qualities = append(v.Qualities, qualityView{Name: q.Name, Need: fmt.Sprintf("needs %g Mbps", q.NeedMbps), Verdict: q.Verdict, Plain: qualityWords[q.Verdict]})
		if q.Verdict == speed.Enough {
			best = q.Name
		}
	}
	switch best {
	case "":
		v.Headline = "Too slow for " + service + " to play smoothly"
	case "SD":
		v.Headline = "Fast enough for " + service + " in standard quality, not HD"
	case "HD":
		v.Headline = "Fast enough for " + service + " in HD, not 4K"
	default:
		v.Headline = "Fast enough for " + service + " in every quality, 4K included"
	}
	return v
}

// startSpeed runs one speed test at a time; its samples and result arrive
// on /api/events like a check's.
func (s *Server) startSpeed(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Speed == nil {
		http.Error(w, "the speed test is not available here", http.StatusNotImplemented)
		return
	}
	if !s.speedBusy.TryLock() {
		http.Error(w, "a speed test is already running", http.StatusConflict)
		return
	}
	id, rn := s.newRun(nil)
	go func() {
		defer s.speedBusy.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), SpeedLimit)
		defer cancel()
		last := time.Time{}
		sp, err := s.cfg.Speed(ctx, func(dir string, mbps float64) {
			if time.Since(last) < 200*time.Millisecond { // five figures a second are enough to read
				return
			}
			last = time.Now()
			rn.send("sample", sampleView{dir, mbps})
		})
		if err != nil {
			rn.send("failed", map[string]string{"error": "The speed test could not run: " + err.Error()})
		} else {
			rn.send("result", viewSpeed(sp, s.cfg.Profile.Title))
		}
		rn.finish()
	}()
	writeJSON(w, map[string]string{"id": id})
}

// SpeedLimit bounds a speed test from the page (the test's own cap is 10 s).
const SpeedLimit = 20 * time.Second
