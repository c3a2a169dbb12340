package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/streamdoctor/streamdoctor/internal/httpserve"
	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/safe"
)

// MaxBody bounds a report's body; a report is about a hundred bytes.
const MaxBody = 4 << 10

// Config sets up a Server.
type Config struct {
	Store    *Store
	Services []string
	Params   Params
	// Now is the clock (a simulated one in benchmarks); nil: time.Now.
	Now func() time.Time
	// PerAddress limits reports per second from one address (in memory
	// only), with bursts of four times that; 0: the default of 2.
	PerAddress float64
	Log        *log.Logger
}

// Server is the crowd outage service.
type Server struct {
	cfg     Config
	writes  chan *write
	metrics *metrics
	reg     *prometheus.Registry

	limMu    sync.Mutex
	limiters map[string]*limiter

	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

type limiter struct {
	l    *rate.Limiter
	seen time.Time
}

type write struct {
	e    Entry
	resp chan writeResult
}

type writeResult struct {
	accepted bool
	err      error
}

type metrics struct {
	accepted *prometheus.CounterVec
	rejected *prometheus.CounterVec
	status   *prometheus.GaugeVec
	latency  *prometheus.HistogramVec
}

// NewServer builds a server; call Start before serving and Close after.
func NewServer(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PerAddress <= 0 {
		cfg.PerAddress = 2
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	reg := prometheus.NewRegistry()
	m := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamdoctor_outage_reports_accepted_total", Help: "Reports stored."}, []string{"service"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamdoctor_outage_reports_rejected_total", Help: "Reports not stored, by reason."}, []string{"reason"}),
		status:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamdoctor_outage_status", Help: "Last status answered: 0 normal, 1 elevated, 2 outage."}, []string{"service"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "streamdoctor_outage_request_seconds", Help: "Request latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"route"}),
	}
	reg.MustRegister(m.accepted, m.rejected, m.status, m.latency)
	return &Server{cfg: cfg, writes: make(chan *write, 4096), metrics: m, reg: reg,
		limiters: map[string]*limiter{}, stop: make(chan struct{})}
}

// Start runs the writer (group commit: reports arriving together share one
// transaction, and each is answered only after it is committed) and the
// housekeeping (pruning, forgetting idle rate limiters).
func (s *Server) Start() {
	s.done.Add(2)
	go s.writer()
	go s.housekeeping()
}

// Close stops the background work; requests still waiting get 503.
func (s *Server) Close() {
	s.once.Do(func() { close(s.stop) })
	s.done.Wait()
}

func (s *Server) writer() {
	defer s.done.Done()
	for {
		var batch []*write
		select {
		case <-s.stop:
			s.drain()
			return
		case w := <-s.writes:
			batch = append(batch, w)
		}
	gather:
		for len(batch) < 512 {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break gather
			}
		}
		entries := make([]Entry, len(batch))
		for i, w := range batch {
			entries[i] = w.e
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ok, err := s.cfg.Store.Add(ctx, entries)
		cancel()
		for i, w := range batch {
			if err != nil {
				w.resp <- writeResult{err: err}
			} else {
				w.resp <- writeResult{accepted: ok[i]}
			}
		}
	}
}

func (s *Server) drain() {
	for {
		select {
		case w := <-s.writes:
			w.resp <- writeResult{err: fmt.Errorf("%w: the server is shutting down", ErrUnavailable)}
		default:
			return
		}
	}
}

func (s *Server) housekeeping() {
	defer s.done.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := s.cfg.Store.Prune(ctx, s.cfg.Now()); err != nil {
			s.cfg.Log.Printf("pruning: %v", err)
		}
		cancel()
		s.limMu.Lock()
		for k, l := range s.limiters {
			if time.Since(l.seen) > 10*time.Minute {
				delete(s.limiters, k)
			}
		}
		s.limMu.Unlock()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// allow applies the per-address limit. Addresses live only in this map,
// in memory, and are forgotten after ten idle minutes.
func (s *Server) allow(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l := s.limiters[host]
	if l == nil {
		l = &limiter{l: rate.NewLimiter(rate.Limit(s.cfg.PerAddress), int(4*s.cfg.PerAddress)+1)}
		s.limiters[host] = l
	}
	l.seen = time.Now()
	return l.l.Allow()
}

// Handler serves the API, the status page and the metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/reports", s.timed("reports", s.postReport))
	mux.Handle("GET /v1/status", s.timed("status", s.getStatus))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /{$}", s.timed("page", s.page))
	return mux
}

func (s *Server) timed(route string, h http.HandlerFunc) http.Handler {
	obs := s.metrics.latency.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		h(w, r)
		obs.Observe(time.Since(t).Seconds())
	})
}

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) postReport(w http.ResponseWriter, r *http.Request) {
	if !s.allow(r) {
		s.metrics.rejected.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusTooManyRequests, "too many reports from this address; try again in a few seconds")
		return
	}
	var rp outage.Report
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rp); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.metrics.rejected.WithLabelValues("too_large").Inc()
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a report is at most %d bytes", MaxBody))
			return
		}
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		fail(w, http.StatusBadRequest, "body is not a report: "+safe.OneLine(err.Error())+` (send {"service","code","region","client"})`)
		return
	}
	if dec.More() {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		fail(w, http.StatusBadRequest, "body holds more than one JSON value; send one report")
		return
	}
	rp.Code = strings.ToUpper(strings.TrimSpace(rp.Code))
	if err := rp.Validate(s.cfg.Services); err != nil {
		s.metrics.rejected.WithLabelValues("invalid").Inc()
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.cfg.Now()
	key, err := s.cfg.Store.DayKey(r.Context(), now.Unix()/86400)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	wr := &write{e: Entry{Service: rp.Service, Region: rp.Region, Code: rp.Code,
		ClientHash: HashClient(key, rp.Service, rp.Client), Bucket: now.Unix() / BucketSeconds}, resp: make(chan writeResult, 1)}
	select {
	case s.writes <- wr:
	case <-r.Context().Done():
		return
	}
	res := <-wr.resp
	if res.err != nil {
		s.unavailable(w, res.err)
		return
	}
	if res.accepted {
		s.metrics.accepted.WithLabelValues(rp.Service).Inc()
	} else {
		s.metrics.rejected.WithLabelValues("duplicate").Inc()
	}
	// A repeat within 30 minutes is answered the same way (it is simply
	// not counted again), so a client learns nothing from the difference.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"accepted":true}`+"\n")
}

func (s *Server) unavailable(w http.ResponseWriter, err error) {
	s.metrics.rejected.WithLabelValues("unavailable").Inc()
	s.cfg.Log.Printf("database: %v", err)
	w.Header().Set("Retry-After", "30")
	fail(w, http.StatusServiceUnavailable, "the report database is unavailable; try again later")
}

// StatusOf evaluates the status of service (and region) now.
func (s *Server) StatusOf(ctx context.Context, service, region string) (outage.Status, Series, error) {
	now := s.cfg.Now()
	b := now.Unix() / BucketSeconds
	const week = 7 * bucketsPerDay
	from := b - int64(s.cfg.Params.Weeks)*week - 24
	ser, err := s.cfg.Store.Series(ctx, service, region, from, b)
	if err != nil {
		return outage.Status{}, ser, err
	}
	v := Evaluate(ser, now, s.cfg.Params)
	s.metrics.status.WithLabelValues(service).Set(float64(outage.Level(v.Status)))
	return outage.Status{Schema: outage.Schema, Service: service, Region: region, Status: v.Status, Reports15m: v.Reports15m,
		Baseline15: math.Round(v.Baseline15*100) / 100, Since: v.Since, UpdatedAt: now.UTC().Truncate(time.Second)}, ser, nil
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	service, region := r.URL.Query().Get("service"), r.URL.Query().Get("region")
	rp := outage.Report{Service: service, Region: region, Client: "validation"}
	if err := rp.Validate(s.cfg.Services); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	st, _, err := s.StatusOf(r.Context(), service, region)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}

// Serve answers on l until ctx ends, with timeouts that keep slow or idle
// clients from holding connections, then shuts down within two seconds.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: s.cfg.Log}
	return httpserve.Serve(ctx, hs, l, 2*time.Second)
}
