package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Failure codes. They are stable: reports, the engine and scenarios use them.
const (
	FTimeout          = "timeout"
	FRefused          = "refused"
	FReset            = "reset"
	FNetUnreachable   = "network_unreachable"
	FHostUnreachable  = "host_unreachable"
	FEOF              = "eof"
	FNXDomain         = "dns_nxdomain"
	FServFail         = "dns_servfail"
	FDNSRefused       = "dns_refused"
	FNoAnswer         = "dns_no_answer"
	FBogonAnswer      = "dns_bogon_answer"
	FNXHijack         = "dns_nxdomain_hijacked"
	FUnknownCA        = "tls_unknown_authority"
	FIntercepted      = "tls_intercepted"
	FCertTime         = "tls_cert_time_invalid"
	FHostname         = "tls_hostname_mismatch"
	FTLSFailed        = "tls_handshake_failed"
	FHTTP503          = "http_503"
	FHTTP5xx          = "http_5xx"
	FHTTP4xx          = "http_4xx"
	FBlockProxy       = "block_page_proxy"
	FBlockFilter      = "block_page_filter"
	FPortal           = "captive_portal"
	FSlow             = "slow"
	FProxy            = "proxy_configured"
	FVPN              = "vpn_active"
	FNoLink           = "no_link"
	FNoRoute          = "no_route"
	FWeakSignal       = "weak_signal"
	FClockSkew        = "clock_skew"
	FStaleData        = "stale_site_data"
	FLargeCache       = "large_cache"
	FWired            = "wired"
	FOutdated         = "outdated_browser"
	FLongUptime       = "long_uptime"
	FHighLatency      = "high_latency"
	FHighJitter       = "high_jitter"
	FLoss             = "packet_loss"
	FLowThroughput    = "low_throughput"
	FBelowSD          = "throughput_below_sd"
	FVideoUnreachable = "video_unreachable"
	FBufferbloat      = "bufferbloat"
	// The crowd outage service's answer (crowd probe): more reports than
	// usual, or an outage for many people.
	FCrowdElevated = "crowd_elevated"
	FCrowdOutage   = "crowd_outage"
	FNoAddress     = "no_address"
	// Name-resolution failures seen by a later probe (TCP, TLS, HTTP): the
	// failure belongs to the resolver, never to the service.
	FDNSTimeout     = "dns_timeout"
	FNoResolver     = "dns_no_resolver_configured"
	FDNSUnreachable = "dns_unreachable"
	// A proxy that answered CONNECT with something other than 200.
	FProxyDenied       = "proxy_denied"         // 403 and other 4xx
	FProxyAuthRequired = "proxy_auth_required"  // 407
	FProxyUpstream     = "proxy_upstream_error" // 5xx: the proxy could not reach the site
	FPanic             = "panic"
	FUnknown           = "unknown_error"
)

// DNSError is a DNS answer with a failing rcode or no usable records.
type DNSError struct{ Code string }

func (e *DNSError) Error() string { return e.Code }

// ResolveError is a failure to turn a name into addresses, met by a probe
// whose own job starts after that (connect, handshake, request). Classify
// reports it as a DNS failure so that it is charged to the resolver.
type ResolveError struct {
	Host string
	Err  error
}

func (e *ResolveError) Error() string { return "resolving " + e.Host + ": " + e.Err.Error() }
func (e *ResolveError) Unwrap() error { return e.Err }

// ProxyStatusError is a proxy's non-200 answer to CONNECT.
type ProxyStatusError struct{ Code int }

func (e *ProxyStatusError) Error() string {
	return fmt.Sprintf("proxy answered CONNECT with HTTP %d", e.Code)
}

// Unreachable says whether a failure code means the other end could not be
// reached or dropped the connection (as opposed to answering wrongly).
func Unreachable(code string) bool {
	switch code {
	case FTimeout, FRefused, FReset, FNetUnreachable, FHostUnreachable, FEOF:
		return true
	}
	return false
}

// IsDNSFailure says whether a failure code is a name-resolution failure.
func IsDNSFailure(code string) bool { return strings.HasPrefix(code, "dns_") }

// Classify turns any error from the network stack into a stable failure code.
// It is the only place where errors are interpreted.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	var re *ResolveError
	if errors.As(err, &re) {
		switch c := Classify(re.Err); {
		case IsDNSFailure(c):
			return c
		case c == FTimeout:
			return FDNSTimeout
		default:
			return FDNSUnreachable
		}
	}
	var de *DNSError
	if errors.As(err, &de) {
		return de.Code
	}
	var pe *ProxyStatusError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == 407:
			return FProxyAuthRequired
		case pe.Code >= 500:
			return FProxyUpstream
		}
		return FProxyDenied
	}
	// Certificates first: they wrap no syscall error.
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	var ve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua):
		return FUnknownCA
	case errors.As(err, &ci):
		if ci.Reason == x509.Expired {
			return FCertTime
		}
		return FUnknownCA
	case errors.As(err, &he):
		return FHostname
	case errors.As(err, &ve):
		return FUnknownCA
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return FTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return FTimeout
	}
	if c := classifyErrno(err); c != "" {
		return c
	}
	var rh tls.RecordHeaderError
	var ae tls.AlertError
	switch {
	case errors.As(err, &rh):
		return FTLSFailed
	case errors.As(err, &ae):
		return FTLSFailed
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FEOF
	case errors.Is(err, context.Canceled):
		return FTimeout
	}
	// Errors that carry no type: match the stable texts of the standard library.
	s := err.Error()
	switch {
	case strings.Contains(s, "connection reset"):
		return FReset
	case strings.Contains(s, "connection refused"):
		return FRefused
	case strings.Contains(s, "network is unreachable"):
		return FNetUnreachable
	case strings.Contains(s, "no route to host"), strings.Contains(s, "host is unreachable"):
		return FHostUnreachable
	case strings.Contains(s, "tls:"):
		return FTLSFailed
	}
	return FUnknown
}

// errnoCodes maps the syscall errors of the running OS.
var errnoCodes = map[syscall.Errno]string{
	syscall.ECONNREFUSED: FRefused,
	syscall.ECONNRESET:   FReset,
	syscall.ECONNABORTED: FReset,
	syscall.EPIPE:        FReset,
	syscall.ENETUNREACH:  FNetUnreachable,
	syscall.EHOSTUNREACH: FHostUnreachable,
	syscall.ETIMEDOUT:    FTimeout,
}

func classifyErrno(err error) string {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return ""
	}
	if c, ok := errnoCodes[en]; ok {
		return c
	}
	return windowsErrno(uintptr(en))
}

// windowsErrno maps Winsock error numbers, which Windows returns instead of
// the POSIX ones.
func windowsErrno(n uintptr) string {
	switch n {
	case 10061:
		return FRefused
	case 10054, 10053:
		return FReset
	case 10051:
		return FNetUnreachable
	case 10065:
		return FHostUnreachable
	case 10060:
		return FTimeout
	}
	return ""
}
