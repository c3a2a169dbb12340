package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

func TestClassify(t *testing.T) {
	op := func(e error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
	}
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{op(syscall.ECONNREFUSED), catalog.FRefused},
		{op(syscall.ECONNRESET), catalog.FReset},
		{op(syscall.ENETUNREACH), catalog.FNetUnreachable},
		{op(syscall.EHOSTUNREACH), catalog.FHostUnreachable},
		{context.DeadlineExceeded, catalog.FTimeout},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), catalog.FTimeout},
		{&DNSError{catalog.FServFail}, catalog.FServFail},
		{fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), catalog.FUnknownCA},
		{x509.CertificateInvalidError{Reason: x509.Expired}, catalog.FCertTime},
		{x509.HostnameError{Host: "x"}, catalog.FHostname},
		{io.ErrUnexpectedEOF, catalog.FEOF},
		{errors.New("read tcp: connection reset by peer"), catalog.FReset},
		{errors.New("something odd"), catalog.FUnknown},
		// A name that did not resolve is the resolver's failure, whatever
		// the probe that met it was doing.
		{&ResolveError{Host: "x", Err: fmt.Errorf("read udp 192.0.2.9:53: %w", os.ErrDeadlineExceeded)}, catalog.FDNSTimeout},
		{&ResolveError{Host: "x", Err: &DNSError{catalog.FNXDomain}}, catalog.FNXDomain},
		{&ResolveError{Host: "x", Err: op(syscall.ECONNREFUSED)}, catalog.FDNSUnreachable},
		// A proxy's answer to CONNECT.
		{&net.OpError{Op: "proxyconnect", Net: "tcp", Err: &ProxyStatusError{Code: 403}}, catalog.FProxyDenied},
		{&ProxyStatusError{Code: 407}, catalog.FProxyAuthRequired},
		{&ProxyStatusError{Code: 502}, catalog.FProxyUpstream},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if windowsErrno(10061) != catalog.FRefused || windowsErrno(10060) != catalog.FTimeout || windowsErrno(1) != "" {
		t.Error("Winsock codes")
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, x := range s {
		out = append(out, netip.MustParseAddr(x))
	}
	return out
}

func TestClassifyAnswer(t *testing.T) {
	cases := []struct {
		ips  []netip.Addr
		want string
	}{
		{nil, ""},
		{addrs("52.1.2.3"), ""},
		{addrs("0.0.0.0"), catalog.FBogonAnswer},
		{addrs("10.10.10.10", "192.168.1.1"), catalog.FBogonAnswer},
		{addrs("10.0.0.1", "52.1.2.3"), ""}, // one public address is enough to be plausible
		{addrs("::"), catalog.FBogonAnswer},
		{addrs("::ffff:127.0.0.1"), catalog.FBogonAnswer},
		{addrs("2a00:86c0::1"), ""},
	}
	for _, c := range cases {
		if got := ClassifyAnswer(c.ips); got != c.want {
			t.Errorf("ClassifyAnswer(%v) = %q, want %q", c.ips, got, c.want)
		}
	}
}

func TestClassifyPage(t *testing.T) {
	m := profile.Netflix().BlockMarkers
	cases := []struct {
		status int
		body   string
		want   string
	}{
		{200, "<html>Netflix</html>", ""},
		{200, "You seem to be using an UNBLOCKER or proxy.", catalog.FBlockProxy},
		{200, "Error Code: M7111-1331-5059", catalog.FBlockProxy},
		{451, "", catalog.FBlockFilter},
		{403, "This site has been blocked by your administrator", catalog.FBlockFilter},
		{403, "Forbidden", ""},
		{404, "not found", ""},
	}
	for _, c := range cases {
		if got := ClassifyPage(c.status, []byte(c.body), m); got != c.want {
			t.Errorf("ClassifyPage(%d, %q) = %q, want %q", c.status, c.body, got, c.want)
		}
	}
}

func TestPACProxy(t *testing.T) {
	cases := map[string]string{
		`function FindProxyForURL(u,h){ return "PROXY 10.0.0.5:3128; DIRECT"; }`:                                            "http://10.0.0.5:3128",
		"function FindProxyForURL(u,h) {\n if (isPlainHostName(h)) return \"DIRECT\";\n return 'PROXY proxy.corp:8080';\n}": "http://proxy.corp:8080",
		`function FindProxyForURL(u,h){ return "DIRECT"; }`:                                                                 "",
	}
	for in, want := range cases {
		if got := pacProxy(in); got != want {
			t.Errorf("pacProxy(%q) = %q, want %q", in, got, want)
		}
	}
}

func testState() *state {
	return &state{ctx: context.Background(), env: DefaultEnv(), prof: profile.Netflix(),
		facts: &sysinfo.Facts{}, timeouts: DefaultTimeouts, lookups: map[lookupKey]*lookupResult{}}
}

func TestRunOnePanicBecomesNotRun(t *testing.T) {
	obs := runOne(context.Background(), testState(), probeDef{name: "boom",
		timeout: func(Timeouts) time.Duration { return time.Second },
		run:     func(context.Context, *state) []Observation { panic("kaboom") }})
	if len(obs) != 1 || obs[0].Status != NotRun || obs[0].Failure != catalog.FPanic || obs[0].Probe != "boom" {
		t.Fatalf("got %+v", obs)
	}
}

func TestRunOneOverrunBecomesNotRun(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	obs := runOne(context.Background(), testState(), probeDef{name: "stuck",
		timeout: func(Timeouts) time.Duration { return 50 * time.Millisecond },
		run: func(context.Context, *state) []Observation {
			<-release // ignores its context, as a buggy probe might
			return nil
		}})
	if len(obs) != 1 || obs[0].Status != NotRun || obs[0].Failure != catalog.FTimeout {
		t.Fatalf("got %+v", obs)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("runOne waited %s for a stuck probe", time.Since(start))
	}
}

func TestParseAnswer(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("www.netflix.com.", dns.TypeA)
	r := new(dns.Msg)
	r.SetReply(m)
	rr, _ := dns.NewRR("www.netflix.com. 60 IN A 52.1.2.3")
	r.Answer = append(r.Answer, rr)
	a, err := ParseAnswer(r, dns.TypeA)
	if err != nil || len(a.IPs) != 1 || a.IPs[0].String() != "52.1.2.3" {
		t.Fatalf("%+v %v", a, err)
	}
	r.Answer = nil
	if _, err := ParseAnswer(r, dns.TypeA); Classify(err) != catalog.FNoAnswer {
		t.Errorf("empty NOERROR: %v", err)
	}
	r.Rcode = dns.RcodeNameError
	if _, err := ParseAnswer(r, dns.TypeA); Classify(err) != catalog.FNXDomain {
		t.Errorf("NXDOMAIN: %v", err)
	}
	r.Rcode = dns.RcodeServerFailure
	if _, err := ParseAnswer(r, dns.TypeA); Classify(err) != catalog.FServFail {
		t.Errorf("SERVFAIL: %v", err)
	}
}

// FuzzDNSAnswer feeds arbitrary DNS wire messages through the answer parser
// and classifier.
func FuzzDNSAnswer(f *testing.F) {
	for _, rr := range []string{"x. 60 IN A 10.10.10.10", "x. 60 IN A 52.1.2.3", "x. 60 IN AAAA ::1", "x. 60 IN CNAME y."} {
		m := new(dns.Msg)
		m.SetQuestion("x.", dns.TypeA)
		r, _ := dns.NewRR(rr)
		m.Answer = append(m.Answer, r)
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil {
			return
		}
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			a, _ := ParseAnswer(m, qt)
			if ClassifyAnswer(a.IPs) == catalog.FBogonAnswer {
				for _, ip := range a.IPs {
					if !isBogon(ip) {
						t.Fatalf("bogon verdict with public address %s", ip)
					}
				}
			}
		}
	})
}

func FuzzClassifyPage(f *testing.F) {
	f.Add(200, []byte("You seem to be using an unblocker or proxy."))
	f.Add(403, []byte("Access denied: this site is blocked by policy"))
	f.Add(451, []byte(""))
	f.Add(200, []byte("<html>ok</html>"))
	markers := profile.Netflix().BlockMarkers
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		switch ClassifyPage(status, body, markers) {
		case "", catalog.FBlockProxy, catalog.FBlockFilter:
		default:
			t.Fatal("unknown verdict")
		}
	})
}

type panicky struct{}

func (panicky) Facts(context.Context) (*sysinfo.Facts, error) { panic("broken reader") }

type stuckFacts struct{ release chan struct{} }

func (s stuckFacts) Facts(context.Context) (*sysinfo.Facts, error) { <-s.release; return nil, nil }

// A facts source that crashes or hangs still gives a full, bounded run in
// which the OS-fact probes say "not run".
func TestRunSurvivesBrokenFacts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for _, src := range []sysinfo.Source{panicky{}, stuckFacts{release}} {
		env := &Env{Dialer: refuseAll{}, Facts: src, PublicDNS: "192.0.2.1:53", DoHURL: "https://192.0.2.1/dns-query"}
		start := time.Now()
		obs, facts := Run(context.Background(), env, profile.Netflix(), Options{Timeout: 3 * time.Second})
		if facts == nil || len(obs) < 10 {
			t.Fatalf("%T: facts %v, %d observations", src, facts, len(obs))
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%T: run took %s", src, d)
		}
		for _, o := range obs {
			if o.Probe == catalog.PLink && o.Status != NotRun {
				t.Errorf("%T: link probe %s without facts", src, o.Status)
			}
		}
	}
}

// refuseAll is a network where every connection is refused.
type refuseAll struct{}

func (refuseAll) DialContext(_ context.Context, network, addr string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// timeoutDNS is a network where DNS queries vanish and everything else is
// refused.
type timeoutDNS struct{}

func (timeoutDNS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if network == "udp" {
		c1, c2 := net.Pipe() // a datagram path where nothing ever answers
		go func() { _, _ = io.Copy(io.Discard, c2) }()
		return c1, nil
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// A resolver that does not answer is charged to name resolution: the TCP
// probe reports "not run" with a DNS failure, never a TCP timeout.
func TestResolverFailureNeverBecomesTCPFailure(t *testing.T) {
	f := sysinfo.Facts{OS: "linux", DNSServers: []string{"192.0.2.53:53"}, Proxy: sysinfo.Proxy{Mode: "none"},
		Interfaces:   []sysinfo.Interface{{Name: "eth0", Kind: sysinfo.KindEthernet, Up: true}},
		DefaultRoute: &sysinfo.Route{Interface: "eth0", Gateway: "192.0.2.1"}}
	env := &Env{Dialer: timeoutDNS{}, Facts: sysinfo.Fixture{F: f}, PublicDNS: "192.0.2.54:53", DoHURL: "https://192.0.2.54/dns-query"}
	tm := DefaultTimeouts
	tm.DNS = 300 * time.Millisecond
	obs, _ := Run(context.Background(), env, profile.Netflix(), Options{Timeout: 3 * time.Second, Timeouts: tm})
	n := 0
	for _, o := range obs {
		if o.Probe != catalog.PTCPService {
			continue
		}
		n++
		if o.Status != NotRun || !IsDNSFailure(o.Failure) {
			t.Errorf("tcp.service %s: %s %q (%s), want not run with a DNS failure", o.Target, o.Status, o.Failure, o.Detail)
		}
	}
	if n == 0 {
		t.Fatal("no tcp.service observation")
	}
}

// A computer with no Wi-Fi adapter is known not to be on Wi-Fi.
func TestNoWiFiAdapterMeansWired(t *testing.T) {
	f := &sysinfo.Facts{OS: "linux", NotRun: map[string]string{sysinfo.FactWiFi: "no Wi-Fi adapter"},
		Interfaces:   []sysinfo.Interface{{Name: "enp3s0", Kind: sysinfo.KindEthernet, Up: true}},
		DefaultRoute: &sysinfo.Route{Interface: "enp3s0", Gateway: "192.0.2.1"}}
	obs := probeWiFi(context.Background(), &state{facts: f})
	if len(obs) != 1 || obs[0].Failure != catalog.FWired {
		t.Errorf("%+v", obs)
	}
	// A Wi-Fi adapter whose signal could not be read stays unknown.
	f.Interfaces = append(f.Interfaces, sysinfo.Interface{Name: "wlan0", Kind: sysinfo.KindWiFi, Up: true})
	f.DefaultRoute.Interface = "wlan0"
	f.NotRun[sysinfo.FactWiFi] = "signal not readable"
	if obs := probeWiFi(context.Background(), &state{facts: f}); obs[0].Failure == catalog.FWired {
		t.Errorf("a Wi-Fi link called wired: %+v", obs)
	}
}

// A panic in a goroutine a probe starts (here: every connect, from a
// dialer that panics) is that probe's crash, not the process's end.
type panickingDialer struct{}

func (panickingDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	panic("dialer exploded")
}

func TestPanicInAProbesWorkerIsContained(t *testing.T) {
	env := &Env{Dialer: panickingDialer{}, Facts: sysinfo.Fixture{F: sysinfo.Facts{OS: "linux", DNSServers: []string{"192.0.2.53"},
		Interfaces:   []sysinfo.Interface{{Name: "eth0", Up: true, Addrs: []string{"192.0.2.10/24"}}},
		DefaultRoute: &sysinfo.Route{Interface: "eth0", Gateway: "192.0.2.1"}}},
		PublicDNS: "192.0.2.54:53", DoHURL: "https://192.0.2.54/dns-query"}
	obs, _ := Run(context.Background(), env, profile.Netflix(), Options{Timeout: 3 * time.Second})
	crashed := 0
	for _, o := range obs {
		if o.Failure == catalog.FPanic {
			crashed++
			if !strings.Contains(o.Detail, "dialer exploded") {
				t.Errorf("%s: %s", o.Probe, o.Detail)
			}
		}
	}
	if crashed == 0 {
		t.Error("no probe reported the crash of its worker")
	}
}
