package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/lang"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

// SpeedFunc runs the full speed test, calling progress with live samples.
type SpeedFunc func(ctx context.Context, progress func(direction string, mbps float64)) (*report.Speed, error)

// speedPage is the speed test's own page.
func (s *Server) speedPage(w http.ResponseWriter, r *http.Request) {
	if chooseLang(w, r) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	d := newPageData(r, "speedpage.")
	d.Service = s.cfg.Profile.Title
	_ = speedTmpl.ExecuteTemplate(w, "speed.html", d)
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

func viewSpeed(l *lang.L, sp *report.Speed, service string) speedView {
	v := speedView{Down: sp.DownMbps, Up: sp.UpMbps, IdleMS: sp.IdleRTTms, LoadedMS: sp.LoadedRTTms, Server: sp.Server, Backend: sp.Backend,
		Seconds: l.Num(sp.Seconds, 1) + " s"}
	words := map[string]string{speed.Enough: l.T("speedpage.enough"), speed.Marginal: l.T("speedpage.marginal"), speed.NotEnough: l.T("speedpage.not_enough")}
	best := ""
	for _, q := range sp.Verdicts {
		v.Qualities = append(v.Qualities, qualityView{Name: q.Name, Need: l.T("speedpage.needs", "Mbps", fmt.Sprintf("%g", q.NeedMbps)), Verdict: q.Verdict, Plain: words[q.Verdict]})
		if q.Verdict == speed.Enough {
			best = q.Name
		}
	}
	switch best {
	case "":
		v.Headline = l.T("speedpage.too_slow", "Service", service)
	case "SD":
		v.Headline = l.T("speedpage.sd", "Service", service)
	case "HD":
		v.Headline = l.T("speedpage.hd", "Service", service)
	default:
		v.Headline = l.T("speedpage.uhd", "Service", service)
	}
	return v
}

// startSpeed runs one speed test at a time; its samples and result arrive
// on /api/events like a check's.
func (s *Server) startSpeed(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Speed == nil {
		http.Error(w, langOf(r).T("error.no_speed"), http.StatusNotImplemented)
		return
	}
	if !s.speedBusy.TryLock() {
		http.Error(w, langOf(r).T("error.speed_busy"), http.StatusConflict)
		return
	}
	id, rn := s.newRun(nil)
	l := langOf(r)
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
			rn.send("failed", map[string]string{"error": l.T("speedpage.failed", "Error", err.Error())})
		} else {
			rn.send("result", viewSpeed(l, sp, s.cfg.Profile.Title))
		}
		rn.finish()
	}()
	writeJSON(w, map[string]string{"id": id})
}

// SpeedLimit bounds a speed test from the page (the test's own cap is 10 s).
const SpeedLimit = 20 * time.Second
