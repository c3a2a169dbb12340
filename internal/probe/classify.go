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

	"github.com/streamdoctor/streamdoctor/internal/catalog"
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
	case catalog.FTimeout, catalog.FRefused, catalog.FReset, catalog.FNetUnreachable, catalog.FHostUnreachable, catalog.FEOF:
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
		case c == catalog.FTimeout:
			return catalog.FDNSTimeout
		default:
			return catalog.FDNSUnreachable
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
			return catalog.FProxyAuthRequired
		case pe.Code >= 500:
			return catalog.FProxyUpstream
		}
		return catalog.FProxyDenied
	}
	// Certificates first: they wrap no syscall error.
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	var ve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua):
		return catalog.FUnknownCA
	case errors.As(err, &ci):
		if ci.Reason == x509.Expired {
			return catalog.FCertTime
		}
		return catalog.FUnknownCA
	case errors.As(err, &he):
		return catalog.FHostname
	case errors.As(err, &ve):
		return catalog.FUnknownCA
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return catalog.FTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return catalog.FTimeout
	}
	if c := classifyErrno(err); c != "" {
		return c
	}
	var rh tls.RecordHeaderError
	var ae tls.AlertError
	switch {
	case errors.As(err, &rh):
		return catalog.FTLSFailed
	case errors.As(err, &ae):
		return catalog.FTLSFailed
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return catalog.FEOF
	case errors.Is(err, context.Canceled):
		return catalog.FTimeout
	}
	// Errors that carry no type: match the stable texts of the standard library.
	s := err.Error()
	switch {
	case strings.Contains(s, "connection reset"):
		return catalog.FReset
	case strings.Contains(s, "connection refused"):
		return catalog.FRefused
	case strings.Contains(s, "network is unreachable"):
		return catalog.FNetUnreachable
	case strings.Contains(s, "no route to host"), strings.Contains(s, "host is unreachable"):
		return catalog.FHostUnreachable
	case strings.Contains(s, "tls:"):
		return catalog.FTLSFailed
	}
	return catalog.FUnknown
}

// errnoCodes maps the syscall errors of the running OS.
var errnoCodes = map[syscall.Errno]string{
	syscall.ECONNREFUSED: catalog.FRefused,
	syscall.ECONNRESET:   catalog.FReset,
	syscall.ECONNABORTED: catalog.FReset,
	syscall.EPIPE:        catalog.FReset,
	syscall.ENETUNREACH:  catalog.FNetUnreachable,
	syscall.EHOSTUNREACH: catalog.FHostUnreachable,
	syscall.ETIMEDOUT:    catalog.FTimeout,
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
		return catalog.FRefused
	case 10054, 10053:
		return catalog.FReset
	case 10051:
		return catalog.FNetUnreachable
	case 10065:
		return catalog.FHostUnreachable
	case 10060:
		return catalog.FTimeout
	}
	return ""
}
