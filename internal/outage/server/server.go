package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
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
	// PerNetwork limits reports per second from one network (a /24 or
	// /48; in memory only), with bursts of four times that; 0: PerAddress
	// if set, else the default of 2.
	PerNetwork float64
	// PerAddress is PerNetwork's former name, when the limit was per
	// address; it sets the per-network limit.
	PerAddress float64
	// TrustProxy: direct peers (reverse proxies) whose X-Forwarded-For
	// names the client's address; from any other peer it is ignored.
	TrustProxy []netip.Prefix
	// PoWBits: the leading zero bits a report's proof-of-work stamp must
	// reach; 0: no stamp is asked for.
	PoWBits int
	// StatusCache is how long a computed status is answered again (it is
	// dropped at once when this instance stores a report for the
	// service); 0: DefaultStatusCache; negative: never cached.
	StatusCache time.Duration
	Log         *log.Logger
}

// DefaultStatusCache: a status is recomputed at most this often per
// service and region, unless this instance took a report for it.
const DefaultStatusCache = 2 * time.Second

// DefaultPoWBits is the stamp's difficulty when --require-pow is given
// without --pow-bits: 2^18 hashes, about 50 ms on a laptop.
const DefaultPoWBits = 18

// powSlot is how long a proof-of-work challenge is current; a stamp made
// for the current or the previous one is taken.
const powSlot = 300

// Server is the crowd outage service.
type Server struct {
	cfg     Config
	writes  chan *write
	metrics *metrics
	reg     *prometheus.Registry

	limMu    sync.Mutex
	limiters map[netip.Prefix]*limiter

	powMu sync.Mutex
	spent map[[32]byte]int64 // stamps taken, by digest, with their slot

	cacheMu sync.Mutex
	cache   map[cacheKey]*cacheEntry
	gen     map[string]uint64 // per service: bumped by every commit here
	genAll  uint64            // bumped by every commit here

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
	resp chan error
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
	if cfg.PerNetwork <= 0 {
		cfg.PerNetwork = cfg.PerAddress
	}
	if cfg.PerNetwork <= 0 {
		cfg.PerNetwork = 2
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	if cfg.StatusCache == 0 {
		cfg.StatusCache = DefaultStatusCache
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	reg := prometheus.NewRegistry()
	m := &metrics{
		// A repeat within 30 minutes is answered 202 like any report and
		// counted here like any report: the metrics tell no more than the
		// answer does.
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamdoctor_outage_reports_accepted_total", Help: "Reports answered 202 (whether or not their network had already been counted)."}, []string{"service"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamdoctor_outage_reports_rejected_total", Help: "Reports refused, by reason."}, []string{"reason"}),
		status:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamdoctor_outage_status", Help: "Last status computed for the whole service: 0 normal, 1 elevated, 2 outage."}, []string{"service"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "streamdoctor_outage_request_seconds", Help: "Request latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"route"}),
	}
	reg.MustRegister(m.accepted, m.rejected, m.status, m.latency)
	return &Server{cfg: cfg, writes: make(chan *write, 4096), metrics: m, reg: reg,
		limiters: map[netip.Prefix]*limiter{}, spent: map[[32]byte]int64{},
		cache: map[cacheKey]*cacheEntry{}, gen: map[string]uint64{}, stop: make(chan struct{})}
}

// Start runs the writer (group commit: reports arriving together share one
// transaction, and each is answered only after it is committed) and the
// housekeeping (pruning, forgetting idle rate limiters and old stamps).
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
		if err == nil {
			// What this instance stored is in its next answer at once.
			s.cacheMu.Lock()
			for i, e := range entries {
				if ok[i] {
					s.gen[e.Service]++
					s.genAll++
				}
			}
			s.cacheMu.Unlock()
		}
		for _, w := range batch {
			w.resp <- err
		}
	}
}

func (s *Server) drain() {
	for {
		select {
		case w := <-s.writes:
			w.resp <- fmt.Errorf("%w: the server is shutting down", ErrUnavailable)
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
		cur := s.cfg.Now().Unix() / powSlot
		s.powMu.Lock()
		for d, slot := range s.spent {
			if slot < cur-1 {
				delete(s.spent, d)
			}
		}
		s.powMu.Unlock()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// allow applies the per-network limit. Networks live only in this map, in
// memory, and are forgotten after ten idle minutes.
func (s *Server) allow(n netip.Prefix) bool {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l := s.limiters[n]
	if l == nil {
		l = &limiter{l: rate.NewLimiter(rate.Limit(s.cfg.PerNetwork), int(4*s.cfg.PerNetwork)+1)}
		s.limiters[n] = l
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (s *Server) postReport(w http.ResponseWriter, r *http.Request) {
	addr, ok := s.clientAddr(r)
	if !ok {
		s.metrics.rejected.WithLabelValues("no_address").Inc()
		fail(w, http.StatusBadRequest, "cannot tell which network the report comes from")
		return
	}
	network := NetworkOf(addr)
	if !s.allow(network) {
		s.metrics.rejected.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusTooManyRequests, "too many reports from this network; try again in a few seconds")
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
	if s.cfg.PoWBits > 0 {
		if why := s.checkPoW(rp, key, now); why != "" {
			s.metrics.rejected.WithLabelValues("pow_" + why).Inc()
			writeJSON(w, http.StatusPreconditionRequired, map[string]any{
				"error": powWords[why],
				"pow":   outage.PoWChallenge{Challenge: s.challenge(key, now.Unix()/powSlot), Bits: s.cfg.PoWBits},
			})
			return
		}
	}
	wr := &write{e: Entry{Service: rp.Service, Region: rp.Region, Code: rp.Code,
		Network: HashNetwork(key, rp.Service, network), Bucket: now.Unix() / BucketSeconds}, resp: make(chan error, 1)}
	select {
	case s.writes <- wr:
	case <-r.Context().Done():
		return
	}
	if err := <-wr.resp; err != nil {
		s.unavailable(w, err)
		return
	}
	// A repeat within 30 minutes is answered (and counted in the metrics)
	// the same way: it is simply not counted again, and a client learns
	// nothing from the difference.
	s.metrics.accepted.WithLabelValues(rp.Service).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"accepted":true}`+"\n")
}

var powWords = map[string]string{
	"missing": "this server asks for a proof-of-work stamp with each report: find a nonce for the challenge in \"pow\" (docs/crowd.md) and send the report again",
	"stale":   "the proof-of-work challenge is not one this server gave in the last ten minutes; use the one in \"pow\"",
	"short":   "the proof-of-work stamp has too few leading zero bits; find a nonce for the challenge in \"pow\"",
	"spent":   "this proof-of-work stamp was already used; make a new one for the challenge in \"pow\"",
	"busy":    "too many stamps to remember just now; try again in a few minutes",
}

// challenge is the proof-of-work challenge of a slot: the slot and a MAC
// of it under the day's key, so that every instance sharing the database
// gives and takes the same ones, and nobody can make them in advance.
func (s *Server) challenge(key []byte, slot int64) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("pow-challenge\x00" + strconv.FormatInt(slot, 10)))
	return strconv.FormatInt(slot, 10) + "." + hex.EncodeToString(m.Sum(nil)[:12])
}

// checkPoW says what is wrong with a report's stamp ("" = nothing): it
// must answer the current or the previous slot's challenge, reach PoWBits
// and not have been used before (stamps are remembered in memory until
// their challenge expires).
func (s *Server) checkPoW(rp outage.Report, key []byte, now time.Time) string {
	if rp.Challenge == "" {
		return "missing"
	}
	cur := now.Unix() / powSlot
	slotText, _, _ := strings.Cut(rp.Challenge, ".")
	slot, err := strconv.ParseInt(slotText, 10, 64)
	if err != nil || (slot != cur && slot != cur-1) || !hmac.Equal([]byte(rp.Challenge), []byte(s.challenge(key, slot))) {
		return "stale"
	}
	d := outage.PoWDigest(rp)
	if outage.LeadingZeroBits(d) < s.cfg.PoWBits {
		return "short"
	}
	s.powMu.Lock()
	defer s.powMu.Unlock()
	if _, used := s.spent[d]; used {
		return "spent"
	}
	if len(s.spent) >= 1<<20 {
		return "busy"
	}
	s.spent[d] = slot
	return ""
}

func (s *Server) unavailable(w http.ResponseWriter, err error) {
	s.metrics.rejected.WithLabelValues("unavailable").Inc()
	s.cfg.Log.Printf("database: %v", err)
	w.Header().Set("Retry-After", "30")
	fail(w, http.StatusServiceUnavailable, "the report database is unavailable; try again later")
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	service, region := r.URL.Query().Get("service"), r.URL.Query().Get("region")
	rp := outage.Report{Service: service, Region: region, Client: "validation"}
	if err := rp.Validate(s.cfg.Services); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	st, err := s.StatusOf(r.Context(), service, region)
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
