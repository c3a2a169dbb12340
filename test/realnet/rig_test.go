//go:build linux

// Package realnet tests the real streamdoctor binary against real daemons
// (Debian's dnsmasq, unbound, nginx, squid), with real kernel faults
// (iptables, tc, links down), in network namespaces the test creates and
// that have no link to the host:
//
//	client 192.0.2.10 ── router 192.0.2.1 | 203.0.113.2 ── internet 203.0.113.1
//	                     dnsmasq (home resolver)          unbound 198.51.100.53 (DNS, DoH)
//	                                                      nginx  198.51.100.10 (the service)
//	                                                             198.51.100.20 (control sites, 204 check)
//	                                                             198.51.100.40 (a Smart DNS relay)
//	                                                             198.51.100.50 (an inspecting box)
//	                                                      squid  198.51.100.30:3128
//
// The binary trusts the rig's CA through SSL_CERT_FILE and uses the rig's
// resolvers and PKI as its trusted vantage points through
// STREAMDOCTOR_PUBLIC_ROOTS, STREAMDOCTOR_PUBLIC_DNS and STREAMDOCTOR_DOH_URL.
// Root only; skipped with a message otherwise.
package realnet

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/lab"
	"github.com/streamdoctor/streamdoctor/internal/outage/server"
)

var (
	binPath  string
	rigCount atomic.Int32
)

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() != 0 {
			return m.Run() // every test skips with its reason
		}
		dir, err := os.MkdirTemp("", "sd-realnet-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "streamdoctor")
		cmd := exec.Command("go", "build", "-o", binPath, "../../cmd/streamdoctor")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building streamdoctor: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// rigNeeds are what the rig runs, each with the Debian package it comes in.
var rigNeeds = []struct{ what, pkg string }{
	{"ip", "iproute2"}, {"tc", "iproute2"}, {"iptables", "iptables"}, {"dnsmasq", "dnsmasq-base"},
	{"unbound", "unbound"}, {"nginx", "nginx-light"}, {"squid", "squid"},
	{"/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so", "libnginx-mod-http-headers-more-filter"},
}

// need skips, in one line naming everything missing, unless the test can
// build the rig.
func need(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the real-daemon network needs root (network namespaces, iptables); skipped")
	}
	var missing []string
	for _, n := range rigNeeds {
		found := false
		if strings.HasPrefix(n.what, "/") {
			_, err := os.Stat(n.what)
			found = err == nil
		} else if _, err := exec.LookPath(n.what); err == nil {
			found = true
		} else if _, err := os.Stat("/usr/sbin/" + n.what); err == nil {
			found = true
		}
		if !found {
			missing = append(missing, n.what+" ("+n.pkg+")")
		}
	}
	if len(missing) > 0 {
		t.Skipf("the real-daemon network needs %s; skipped", strings.Join(missing, ", "))
	}
}

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name, Organization: []string{"StreamDoctor realnet"}},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf writes a certificate (with the CA in its chain) and key for names
// into dir/base.crt and dir/base.key.
func (c *ca) leaf(t *testing.T, dir, base string, names ...string) (crt, key string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().AddDate(0, 2, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &k.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	crt, key = filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	write(t, crt, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))+string(c.pem))
	write(t, key, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	return crt, key
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Service, control and resolver names, as the netflix profile uses them.
var (
	serviceNames = []string{"www.netflix.com", "assets.nflxext.com", "help.netflix.com"}
	controlNames = []string{"www.google.com", "www.cloudflare.com", "www.wikipedia.org", "connectivitycheck.gstatic.com"}
)

const (
	ipService   = "198.51.100.10"
	ipControls  = "198.51.100.20"
	ipSquid     = "198.51.100.30"
	ipRelay     = "198.51.100.40"
	ipInspector = "198.51.100.50"
	ipSpeed     = "198.51.100.60"
	ipResolver  = "198.51.100.53"
	ipCrowd     = "198.51.100.90"
	ip6Service  = "2001:db8:3::10"
	// A hijacking resolver's ad server, answering every name.
	ipAds = "198.51.100.66"
	// A Smart DNS relay that went away: nothing listens there.
	ipDeadRelay = "198.51.100.41"
	// The service's video servers (fast.com, its API, an Open Connect
	// server) and a neutral speed-test server (M-Lab's locate service and an
	// ndt7 server), each a `streamdoctor speed serve` behind nginx.
	ipVideo   = "198.51.100.70"
	ipNeutral = "198.51.100.80"
	ocaName   = "ipv4-c001-rig001-ix.1.oca.nflxvideo.net"
	ndtName   = "ndt-mlab1-rig01.mlab-oti.measurement-lab.org"
)

// Names of the video servers and of the neutral speed-test server.
var (
	videoNames   = []string{"fast.com", "api.fast.com", ocaName}
	neutralNames = []string{"locate.measurementlab.net", ndtName}
)

// options change how the rig is built (before any daemon starts).
type options struct {
	dnsmasqArgs []string // extra dnsmasq options (filters, redirects)
	upstream    string   // where dnsmasq forwards (default: the rig's resolver)
	noDNSMasq   bool     // the home resolver is stopped
	nginxSvc    string   // the service's nginx location body (default: 200)
	clockOff    time.Duration
	ipv6        bool
	squidDeny   bool
	speedServer bool
	crowd       string // a crowd outage server's history: "", "normal" or "outage"
	// speedPaths: the service's video servers and a neutral speed-test
	// server exist (for the quick sample and its reference).
	speedPaths bool
}

// rig is one running network.
type rig struct {
	t                  *testing.T
	dir                string
	cli, rtr, inet     string
	public, inspecting *ca
	caFile, trustFile  string
	env                []string
	extraArgs          []string
}

func (r *rig) ns(ns string, args ...string) {
	r.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("in %s: %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
}

func (r *rig) ip(args ...string) {
	r.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		r.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start runs a daemon in a namespace until the test ends.
func (r *rig) start(ns, name string, args ...string) {
	r.t.Helper()
	log, _ := os.Create(filepath.Join(r.dir, name+".log"))
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting %s: %v", name, err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
	})
}

// waitTCP waits until addr accepts connections inside ns.
func (r *rig) waitTCP(ns, addr string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if exec.Command("ip", "netns", "exec", ns, "bash", "-c", "exec 3<>/dev/tcp/"+strings.Replace(addr, ":", "/", 1)).Run() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs, _ := filepath.Glob(filepath.Join(r.dir, "*.log"))
	var b strings.Builder
	for _, l := range logs {
		s, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(l), s)
	}
	r.t.Fatalf("%s never listened in %s\n%s", addr, ns, b.String())
}

func newRig(t *testing.T, o options) *rig {
	t.Helper()
	need(t)
	n := rigCount.Add(1)
	id := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	r := &rig{t: t, dir: t.TempDir(), cli: "sdn-c" + id, rtr: "sdn-r" + id, inet: "sdn-i" + id}
	if err := os.Chmod(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ns := range []string{r.cli, r.rtr, r.inet} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
		_ = os.RemoveAll("/etc/netns/" + r.cli)
	})
	for _, ns := range []string{r.cli, r.rtr, r.inet} {
		r.ip("netns", "add", ns)
		r.ip("-n", ns, "link", "set", "lo", "up")
	}
	// client <-> router, router <-> internet
	r.ip("link", "add", "sdnl"+id, "type", "veth", "peer", "name", "sdnL"+id)
	r.ip("link", "set", "sdnl"+id, "netns", r.cli, "name", "eth0")
	r.ip("link", "set", "sdnL"+id, "netns", r.rtr, "name", "lan")
	r.ip("link", "add", "sdnw"+id, "type", "veth", "peer", "name", "sdnW"+id)
	r.ip("link", "set", "sdnw"+id, "netns", r.rtr, "name", "wan")
	r.ip("link", "set", "sdnW"+id, "netns", r.inet, "name", "eth0")
	r.ip("-n", r.cli, "addr", "add", "192.0.2.10/24", "dev", "eth0")
	r.ip("-n", r.rtr, "addr", "add", "192.0.2.1/24", "dev", "lan")
	r.ip("-n", r.rtr, "addr", "add", "203.0.113.2/24", "dev", "wan")
	r.ip("-n", r.inet, "addr", "add", "203.0.113.1/24", "dev", "eth0")
	for _, a := range []string{ipService, ipControls, ipSquid, ipRelay, ipInspector, ipSpeed, ipResolver, ipCrowd, ipAds, ipDeadRelay, ipVideo, ipNeutral} {
		r.ip("-n", r.inet, "addr", "add", a+"/32", "dev", "lo")
	}
	for ns, devs := range map[string][]string{r.cli: {"eth0"}, r.rtr: {"lan", "wan"}, r.inet: {"eth0"}} {
		for _, d := range devs {
			r.ip("-n", ns, "link", "set", d, "up")
		}
	}
	r.ip("-n", r.cli, "route", "add", "default", "via", "192.0.2.1")
	r.ip("-n", r.rtr, "route", "add", "default", "via", "203.0.113.1")
	r.ip("-n", r.inet, "route", "add", "192.0.2.0/24", "via", "203.0.113.2")
	r.ns(r.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	if o.ipv6 {
		for ns, a := range map[string][2]string{r.cli: {"2001:db8:1::10/64", "eth0"}, r.rtr: {"2001:db8:1::1/64", "lan"}} {
			r.ip("-n", ns, "addr", "add", a[0], "dev", a[1], "nodad")
		}
		r.ip("-n", r.rtr, "addr", "add", "2001:db8:2::2/64", "dev", "wan", "nodad")
		r.ip("-n", r.inet, "addr", "add", "2001:db8:2::1/64", "dev", "eth0", "nodad")
		r.ip("-n", r.inet, "addr", "add", ip6Service+"/128", "dev", "lo", "nodad")
		r.ip("-n", r.cli, "-6", "route", "add", "default", "via", "2001:db8:1::1")
		r.ip("-n", r.rtr, "-6", "route", "add", "default", "via", "2001:db8:2::1")
		r.ip("-n", r.inet, "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:2::2")
		r.ns(r.rtr, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	}
	// The client's resolver is the router (ip netns exec mounts this file
	// over /etc/resolv.conf).
	if err := os.MkdirAll("/etc/netns/"+r.cli, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, "/etc/netns/"+r.cli+"/resolv.conf", "nameserver 192.0.2.1\n")

	r.public, r.inspecting = newCA(t, "Realnet Public Root"), newCA(t, "Realnet Inspection Root")
	r.caFile = filepath.Join(r.dir, "public.pem")
	write(t, r.caFile, string(r.public.pem))
	r.trustFile = r.caFile
	r.startUnbound(o)
	if o.speedPaths {
		// The speed servers nginx passes the video and neutral names to.
		r.start(r.inet, "speed-video", binPath, "speed", "serve", "--listen", "127.0.0.1:18081")
		r.start(r.inet, "speed-neutral", binPath, "speed", "serve", "--listen", "127.0.0.1:18082")
		r.waitTCP(r.inet, "127.0.0.1:18081")
		r.waitTCP(r.inet, "127.0.0.1:18082")
	}
	r.startNginx(o)
	if !o.noDNSMasq {
		args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
			"--listen-address=192.0.2.1", "--bind-interfaces", "--user=root", "--pid-file=" + filepath.Join(r.dir, "dnsmasq.pid"),
			"--server=" + cmp.Or(o.upstream, ipResolver), "--cache-size=0"}
		r.start(r.rtr, "dnsmasq", append(args, o.dnsmasqArgs...)...)
		r.waitTCP(r.rtr, "192.0.2.1:53")
	}
	if o.squidDeny {
		r.startSquid()
	}
	if o.speedServer {
		r.start(r.inet, "speed", binPath, "speed", "serve", "--listen", ipSpeed+":8080")
		r.waitTCP(r.inet, ipSpeed+":8080")
		r.extraArgs = append(r.extraArgs, "--speed-server", "http://"+ipSpeed+":8080/speedtest")
	}
	if o.crowd != "" {
		// The real outage server on the internet side, on a database
		// seeded with the history the case calls for.
		db := filepath.Join(r.dir, "crowd", "outage.db")
		st, err := server.Open(context.Background(), "sqlite:"+db)
		if err != nil {
			t.Fatal(err)
		}
		err = lab.SeedCrowd(context.Background(), st, "netflix", "NSEZ-503", o.crowd, time.Now())
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		r.start(r.inet, "crowd", binPath, "outage", "serve", "--listen", ipCrowd+":8090", "--db", "sqlite:"+db)
		r.waitTCP(r.inet, ipCrowd+":8090")
		r.extraArgs = append(r.extraArgs, "--outage-server", "http://"+ipCrowd+":8090")
	}
	home := filepath.Join(r.dir, "home")
	_ = os.MkdirAll(home, 0o755)
	r.env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "NO_COLOR=1", "LANG=C",
		"STREAMDOCTOR_PUBLIC_ROOTS=" + r.caFile,
		"STREAMDOCTOR_PUBLIC_DNS=" + ipResolver + ":53",
		"STREAMDOCTOR_DOH_URL=https://" + ipResolver + "/dns-query"}
	return r
}

func (r *rig) startUnbound(o options) {
	crt, key := r.public.leaf(r.t, r.dir, "resolver", ipResolver)
	var zone strings.Builder
	for _, n := range serviceNames {
		fmt.Fprintf(&zone, "  local-data: \"%s. 60 IN A %s\"\n", n, ipService)
		if o.ipv6 {
			fmt.Fprintf(&zone, "  local-data: \"%s. 60 IN AAAA %s\"\n", n, ip6Service)
		}
	}
	for _, n := range controlNames {
		fmt.Fprintf(&zone, "  local-data: \"%s. 60 IN A %s\"\n", n, ipControls)
	}
	if o.speedPaths {
		for _, n := range videoNames {
			fmt.Fprintf(&zone, "  local-data: \"%s. 60 IN A %s\"\n", n, ipVideo)
		}
		for _, n := range neutralNames {
			fmt.Fprintf(&zone, "  local-data: \"%s. 60 IN A %s\"\n", n, ipNeutral)
		}
	}
	conf := filepath.Join(r.dir, "unbound.conf")
	write(r.t, conf, fmt.Sprintf(`server:
  interface: %[1]s
  interface: %[1]s@443
  port: 53
  https-port: 443
  http-endpoint: "/dns-query"
  http-notls-downstream: no
  tls-service-key: %[2]s
  tls-service-pem: %[3]s
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  username: ""
  chroot: ""
  directory: "%[4]s"
  pidfile: "%[4]s/unbound.pid"
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 0
  module-config: "iterator"
  local-zone: "." static
%[5]s`, ipResolver, key, crt, r.dir, zone.String()))
	r.start(r.inet, "unbound", "unbound", "-d", "-c", conf)
	r.waitTCP(r.inet, ipResolver+":53")
	r.waitTCP(r.inet, ipResolver+":443")
}

func (r *rig) startNginx(o options) {
	svcCrt, svcKey := r.public.leaf(r.t, r.dir, "service", serviceNames...)
	ctlCrt, ctlKey := r.public.leaf(r.t, r.dir, "controls", controlNames...)
	inspCrt, inspKey := r.inspecting.leaf(r.t, r.dir, "inspector", serviceNames...)
	adsCrt, adsKey := r.inspecting.leaf(r.t, r.dir, "ads", "ads.resolver.example")
	extra := fmt.Sprintf(`server { listen %[1]s:80; location / { return 200 "<html><body>Offers for $host</body></html>"; } }
  server { listen %[1]s:443 ssl; server_name _; ssl_certificate %[2]s; ssl_certificate_key %[3]s; location / { return 200 "<html><body>Offers for $host</body></html>"; } }`, ipAds, adsCrt, adsKey)
	if o.speedPaths {
		vidCrt, vidKey := r.public.leaf(r.t, r.dir, "video", videoNames...)
		neuCrt, neuKey := r.public.leaf(r.t, r.dir, "neutral", neutralNames...)
		// fast.com's page names its script, the script carries the API's
		// token, the API hands out the Open Connect server; the locate
		// service hands out the ndt7 server. Both servers are
		// 'streamdoctor speed serve' behind nginx (ndt7 over WebSocket).
		extra += fmt.Sprintf(`
  server { listen %[1]s:443 ssl; server_name fast.com; ssl_certificate %[2]s; ssl_certificate_key %[3]s;
    location = / { return 200 '<html><body><script src="/app-rig01.js"></script></body></html>'; }
    location / { return 200 'var c={apiEndpoint:"api.fast.com/netflix/speedtest/v2",token:"rigtoken",urlCount:1};'; } }
  server { listen %[1]s:443 ssl; server_name api.fast.com; ssl_certificate %[2]s; ssl_certificate_key %[3]s; default_type application/json;
    location / { return 200 '{"client":{"location":{"city":"Rig","country":"XX"}},"targets":[{"name":"rig","url":"https://%[4]s/speedtest?c=xx","location":{"city":"Rig","country":"XX"}}]}'; } }
  server { listen %[1]s:443 ssl; server_name %[4]s; ssl_certificate %[2]s; ssl_certificate_key %[3]s;
    location / { proxy_pass http://127.0.0.1:18081; proxy_buffering off; proxy_request_buffering off; } }
  server { listen %[5]s:443 ssl; server_name locate.measurementlab.net; ssl_certificate %[6]s; ssl_certificate_key %[7]s; default_type application/json;
    location / { return 200 '{"results":[{"machine":"mlab1-rig01","urls":{"wss:///ndt/v7/download":"wss://%[8]s/ndt/v7/download?access_token=rig","wss:///ndt/v7/upload":"wss://%[8]s/ndt/v7/upload?access_token=rig"}}]}'; } }
  server { listen %[5]s:443 ssl; server_name %[8]s; ssl_certificate %[6]s; ssl_certificate_key %[7]s;
    location / { proxy_pass http://127.0.0.1:18082; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";
      proxy_set_header Host $host; proxy_buffering off; proxy_read_timeout 20s; } }`, ipVideo, vidCrt, vidKey, ocaName, ipNeutral, neuCrt, neuKey, ndtName)
	}
	body := o.nginxSvc
	if body == "" {
		body = `return 200 "<html><body>Netflix</body></html>";`
	}
	date := ""
	module := ""
	if o.clockOff != 0 {
		// The servers' clocks (their Date headers) are off; seen from the
		// client, that is its own clock being off the other way.
		module = "load_module /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so;"
		date = fmt.Sprintf(`more_set_headers "Date: %s";`, time.Now().Add(o.clockOff).UTC().Format(time.RFC1123))
		date = strings.Replace(date, "UTC", "GMT", 1)
	}
	tmp := filepath.Join(r.dir, "nginx-tmp")
	_ = os.MkdirAll(tmp, 0o755)
	conf := filepath.Join(r.dir, "nginx.conf")
	write(r.t, conf, fmt.Sprintf(`%[12]s
daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[2]s; proxy_temp_path %[2]s; fastcgi_temp_path %[2]s; uwsgi_temp_path %[2]s; scgi_temp_path %[2]s;
  default_type text/html;
  %[11]s
  server { listen %[3]s:443 ssl; server_name _; ssl_certificate %[4]s; ssl_certificate_key %[5]s; location / { %[6]s } }
  server { listen %[7]s:443 ssl; server_name _; ssl_certificate %[8]s; ssl_certificate_key %[9]s; location / { return 200 "<html><body>control</body></html>"; } }
  server { listen %[7]s:80; location /generate_204 { return 204; } location / { return 200 "ok"; } }
  server { listen %[10]s:443 ssl; server_name _; ssl_certificate %[4]s; ssl_certificate_key %[5]s;
    location / { return 200 "<html><body>Whoops, something went wrong. You seem to be using an unblocker or proxy. Error code: M7111-1331-5059</body></html>"; } }
  server { listen %[13]s:443 ssl; server_name _; ssl_certificate %[14]s; ssl_certificate_key %[15]s; location / { return 200 "<html><body>Netflix (inspected)</body></html>"; } }
  %[16]s
  %[17]s
}
`, r.dir, tmp, ipService, svcCrt, svcKey, body, ipControls, ctlCrt, ctlKey, ipRelay, date, module, ipInspector, inspCrt, inspKey,
		func() string {
			if !o.ipv6 {
				return ""
			}
			return fmt.Sprintf(`server { listen [%s]:443 ssl; server_name _; ssl_certificate %s; ssl_certificate_key %s; location / { return 200 "Netflix over IPv6"; } }`, ip6Service, svcCrt, svcKey)
		}(), extra))
	r.start(r.inet, "nginx", "nginx", "-c", conf, "-e", filepath.Join(r.dir, "nginx-error.log"))
	r.waitTCP(r.inet, ipService+":443")
	r.waitTCP(r.inet, ipControls+":80")
}

func (r *rig) startSquid() {
	conf := filepath.Join(r.dir, "squid.conf")
	write(r.t, conf, fmt.Sprintf(`http_port %s:3128
pid_filename %s/squid.pid
cache_log %s/squid-cache.log
access_log none
cache deny all
coredump_dir %s
http_access deny all
`, ipSquid, r.dir, r.dir, r.dir))
	// Its own service name, so its shared-memory segments do not meet
	// another squid's.
	name := "sdtest" + strings.TrimPrefix(r.inet, "sdn-i")
	r.t.Cleanup(func() {
		shm, _ := filepath.Glob("/dev/shm/" + name + "-*")
		for _, f := range shm {
			_ = os.Remove(f)
		}
	})
	r.start(r.inet, "squid", "squid", "-N", "-n", name, "-f", conf)
	r.waitTCP(r.inet, ipSquid+":3128")
}

// report is the part of streamdoctor.report/v1 the tests read.
type report struct {
	Verdict struct {
		TopCause   string  `json:"top_cause"`
		Confidence float64 `json:"confidence"`
	} `json:"verdict"`
	Causes []struct {
		ID          string  `json:"id"`
		Probability float64 `json:"probability"`
	} `json:"causes"`
	Observations []struct {
		Probe   string  `json:"probe"`
		Target  string  `json:"target"`
		Status  string  `json:"status"`
		Failure string  `json:"failure"`
		Value   float64 `json:"value"`
		Detail  string  `json:"detail"`
	} `json:"observations"`
}

// check runs the real binary in the client namespace.
func (r *rig) check(args ...string) (int, report) {
	r.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", r.cli, binPath, "check", "--json"}, append(r.extraArgs, args...)...)...)
	cmd.Env = append(r.env, "SSL_CERT_FILE="+r.trustFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("running streamdoctor: %v", err)
	}
	var rep report
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		r.t.Fatalf("exit %d, not a report: %v\n%s\n%s", code, jerr, out, stderr.String())
	}
	return code, rep
}

// expect runs the check and asserts the verdict, printing what was seen
// when it is wrong.
func (r *rig) expect(want string, args ...string) {
	r.t.Helper()
	code, rep := r.check(args...)
	var b strings.Builder
	for i, c := range rep.Causes {
		if i == 4 {
			break
		}
		fmt.Fprintf(&b, " %s %.0f%%", c.ID, c.Probability*100)
	}
	// Logged on every run (shown with -v and on failure): what was seen.
	r.t.Logf("%s: exit %d, ranking%s", r.t.Name(), code, b.String())
	for _, o := range rep.Observations {
		r.t.Logf("  %-22s %-8s %-24s %s", o.Probe, o.Status, o.Failure, o.Detail)
	}
	if rep.Verdict.TopCause != want || (want == "none") != (code == 0) {
		r.t.Errorf("diagnosed %s (exit %d), want %s", rep.Verdict.TopCause, code, want)
	}
}
