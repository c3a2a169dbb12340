package outage

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Status levels.
const (
	Normal   = "normal"
	Elevated = "elevated"
	Outage   = "outage"
)

// Schema is the status document's schema.
const Schema = "streamdoctor.outage/v1"

// Report is the body of POST /v1/reports. Challenge and Nonce are the
// proof-of-work stamp (pow.go), sent only when a server asks for one.
type Report struct {
	Service   string `json:"service"`
	Code      string `json:"code"`
	Region    string `json:"region"`
	Client    string `json:"client"`
	Challenge string `json:"challenge,omitempty"`
	Nonce     string `json:"nonce,omitempty"`
}

// Status is the body of GET /v1/status.
type Status struct {
	Schema     string  `json:"schema"`
	Service    string  `json:"service"`
	Region     string  `json:"region"`
	Status     string  `json:"status"`
	Reports15m int     `json:"reports_15m"`
	Baseline15 float64 `json:"baseline_15m"`
	// Networks15m is how many distinct networks (/24, /48) the reports of
	// the last 15 minutes came from. A network counts once per service per
	// 30 minutes, so it equals Reports15m; it is named so that nobody reads
	// the count as one of claims.
	Networks15m int `json:"networks_15m"`
	// WorstRegion, on the whole service's status (no region asked), is the
	// country whose own status raised it; empty when the reports naming no
	// country did, or when the status is normal.
	WorstRegion string    `json:"worst_region,omitempty"`
	Since       time.Time `json:"since"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var (
	codeRE      = regexp.MustCompile(`^[A-Z0-9]{1,12}(-[A-Z0-9]{1,12}){0,4}$`)
	clientRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	challengeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	nonceRE     = regexp.MustCompile(`^[0-9a-f]{1,32}$`)
)

// ValidRegion reports whether r is an ISO 3166-1 alpha-2 country code
// (upper case), or empty for "not said".
func ValidRegion(r string) bool {
	if r == "" {
		return true
	}
	if len(r) != 2 || strings.ToUpper(r) != r {
		return false
	}
	reg, err := language.ParseRegion(r)
	return err == nil && reg.IsCountry() && reg.String() == r
}

// Validate checks a report, naming the first thing wrong in one line.
func (rp *Report) Validate(services []string) error {
	known := false
	for _, s := range services {
		known = known || s == rp.Service
	}
	switch {
	case rp.Service == "":
		return errors.New("service is missing (e.g. \"netflix\")")
	case !known:
		return fmt.Errorf("unknown service %q (known: %s)", rp.Service, strings.Join(services, ", "))
	case rp.Code != "" && !codeRE.MatchString(rp.Code):
		return fmt.Errorf("code %q is not an error code (letters, digits and dashes, e.g. NSEZ-503)", rp.Code)
	case !ValidRegion(rp.Region):
		return fmt.Errorf("region %q is not an ISO 3166 country code (two capital letters, e.g. DE), or leave it empty", rp.Region)
	case rp.Client == "":
		return errors.New("client is missing (a random id the client keeps)")
	case !clientRE.MatchString(rp.Client):
		return errors.New("client must be 8-64 letters, digits, '-' or '_'")
	case rp.Challenge != "" && !challengeRE.MatchString(rp.Challenge):
		return errors.New("challenge must be the one the server gave (up to 128 letters, digits, '.', '-' or '_')")
	case rp.Nonce != "" && !nonceRE.MatchString(rp.Nonce):
		return errors.New("nonce must be 1-32 lower-case hex digits")
	case (rp.Challenge == "") != (rp.Nonce == ""):
		return errors.New("a proof-of-work stamp needs both challenge and nonce")
	}
	return nil
}

// Level orders the status levels: normal 0, elevated 1, outage 2.
func Level(s string) int {
	switch s {
	case Outage:
		return 2
	case Elevated:
		return 1
	}
	return 0
}
