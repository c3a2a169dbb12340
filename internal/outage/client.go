package outage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamdoctor/streamdoctor/internal/safe"
)

// EnvServer names the crowd server for check when --outage-server is not given.
const EnvServer = "STREAMDOCTOR_OUTAGE_SERVER"

// ParseServer checks a server URL given by the person: http or https, a
// host, no credentials, no query.
func ParseServer(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("outage server %q is not an http(s) URL (e.g. https://outage.example.org)", raw)
	}
	if u.User != nil {
		return nil, errors.New("outage server URL must not hold a user name or password")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("outage server %q: give the server's base URL, without ?query or #fragment", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// Client talks to a crowd server.
type Client struct {
	Base *url.URL
	HTTP *http.Client
}

// Status asks what the crowd says about service (and region).
func (c *Client) Status(ctx context.Context, service, region string) (Status, error) {
	q := url.Values{"service": {service}}
	if region != "" {
		q.Set("region", region)
	}
	u := *c.Base
	u.Path += "/v1/status"
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Status{}, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if err != nil {
		return Status{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("the outage server answered HTTP %d", resp.StatusCode)
	}
	return ParseStatus(body)
}

// ParseStatus reads a status document from a server (outside input).
func ParseStatus(body []byte) (Status, error) {
	var st Status
	if err := json.Unmarshal(body, &st); err != nil || st.Schema != Schema {
		return Status{}, errors.New("the outage server's answer is not a status document")
	}
	switch st.Status {
	case Normal, Elevated, Outage:
	default:
		return Status{}, fmt.Errorf("the outage server gave an unknown status %q", safe.OneLine(st.Status))
	}
	if st.Reports15m < 0 || st.Baseline15 < 0 || st.Networks15m < 0 {
		return Status{}, errors.New("the outage server's answer has negative counts")
	}
	if st.WorstRegion != "" && !ValidRegion(st.WorstRegion) {
		return Status{}, errors.New("the outage server's answer names no country in worst_region")
	}
	return st, nil
}

// Send reports that the person still cannot watch. When the server asks
// for a proof-of-work stamp (HTTP 428 with a challenge), Send computes it
// (about 50 ms at the usual difficulty) and sends the report again, at most
// twice (a challenge can expire between the two).
func (c *Client) Send(ctx context.Context, r Report) error {
	// The stamp covers the code as the server reads it.
	r.Code = strings.ToUpper(strings.TrimSpace(r.Code))
	r.Challenge, r.Nonce = "", ""
	for attempt := 0; ; attempt++ {
		code, body, err := c.post(ctx, r)
		if err != nil {
			return err
		}
		if code == http.StatusAccepted {
			return nil
		}
		var e struct {
			Error string        `json:"error"`
			PoW   *PoWChallenge `json:"pow"`
		}
		_ = json.Unmarshal(body, &e)
		if code == http.StatusPreconditionRequired && e.PoW != nil && attempt < 2 {
			nonce, err := SolvePoW(ctx, r, e.PoW.Challenge, e.PoW.Bits)
			if err != nil {
				return err
			}
			r.Challenge, r.Nonce = e.PoW.Challenge, nonce
			if r.Validate([]string{r.Service}) != nil {
				return errors.New("the outage server gave a challenge this client cannot send back")
			}
			continue
		}
		if e.Error != "" {
			return fmt.Errorf("the outage server refused the report (HTTP %d): %s", code, safe.OneLine(e.Error))
		}
		return fmt.Errorf("the outage server refused the report (HTTP %d)", code)
	}
}

func (c *Client) post(ctx context.Context, r Report) (int, []byte, error) {
	b, _ := json.Marshal(r)
	u := *c.Base
	u.Path += "/v1/reports"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, body, nil
}

// ClientID returns this install's random report id, kept 0600 in dir
// (created on first use). It identifies nothing but the install, and the
// server stores only a hash of it under a key it deletes daily.
func ClientID(dir string) (string, error) {
	path := filepath.Join(dir, "outage-client-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); clientRE.MatchString(id) {
			return id, nil
		}
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// RegionFromLocale takes the country from a locale such as en_US.UTF-8
// ("" when there is none or it is not a country code).
func RegionFromLocale(getenv func(string) string) string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		loc := getenv(v)
		if i := strings.IndexAny(loc, ".@"); i >= 0 {
			loc = loc[:i]
		}
		if _, after, ok := strings.Cut(loc, "_"); ok && ValidRegion(after) {
			return after
		}
	}
	return ""
}
