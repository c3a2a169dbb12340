package kb

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/streamdoctor/streamdoctor/internal/catalog"
	"github.com/streamdoctor/streamdoctor/internal/yamlx"
)

// CauseIDs is the cause vocabulary (DESIGN.md); ids are stable.
var CauseIDs = []string{
	"no_link", "weak_wifi", "gateway_unreachable", "dns_failure", "dns_hijack", "vpn", "proxy",
	"tls_interception", "firewall_block", "captive_portal", "clock_skew", "ipv6_broken",
	"low_bandwidth", "unstable_connection", "service_outage", "isp_routing",
	"stale_browser_data", "outdated_browser", "browser_extension", "device_glitch", "none",
}

// FixIDs is the fix vocabulary (DESIGN.md); ids are stable.
var FixIDs = []string{
	"restart_router", "use_ethernet", "disable_vpn", "disable_proxy", "clear_site_data",
	"try_private_window", "restart_browser", "update_browser", "switch_browser", "restart_device",
	"flush_dns", "change_dns", "sync_clock", "login_captive_portal", "test_firewall",
	"wait_for_outage", "contact_isp", "disable_browser_addons",
}

// OSes for which every fix has steps.
var OSes = []string{"windows", "macos", "linux"}

// P is a probability with its reason.
type P struct {
	P   float64 `yaml:"p"`
	Why string  `yaml:"why"`
}

// Cause is one thing that can be wrong.
type Cause struct {
	ID      string   `yaml:"id"`
	Title   string   `yaml:"title"`
	Explain string   `yaml:"explain"`
	Prior   P        `yaml:"prior"` // for a plain check, no error code given
	Check   []string `yaml:"check"` // how a person can confirm it
	// Presentations are mutually exclusive ways the cause shows (an outage
	// refuses, errs or crawls); each overrides some likelihoods. Without
	// them the cause has one presentation: the evidence file's likelihoods.
	Presentations []Presentation `yaml:"presentations"`
}

// Presentation is one way a cause shows, with its share of cases.
type Presentation struct {
	Name  string       `yaml:"name"`
	Share P            `yaml:"share"`
	Given map[string]P `yaml:"given"`
}

// Fix is one remedy.
type Fix struct {
	ID         string              `yaml:"id"`
	Title      string              `yaml:"title"`
	Explain    string              `yaml:"explain"`
	Difficulty string              `yaml:"difficulty"` // easy | moderate | hard
	Minutes    float64             `yaml:"minutes"`
	Automated  map[string]bool     `yaml:"automated"`
	Steps      map[string][]string `yaml:"steps"` // all | windows | macos | linux
	Repairs    map[string]P        `yaml:"repairs"`
	// Requires names an evidence symbol that must not be observed absent
	// for the fix to apply at all (use_ethernet needs a device on Wi-Fi).
	Requires string `yaml:"requires"`
}

// DifficultyFactor turns the article's difficulty words into an effort
// multiplier on minutes: moderate steps (menus, a command prompt) take a
// non-technical person about half as long again, hard ones twice as long.
var DifficultyFactor = map[string]float64{"easy": 1, "moderate": 1.5, "hard": 2}

// Cost is the expected effort of the fix in minutes.
func (f *Fix) Cost() float64 { return f.Minutes * DifficultyFactor[f.Difficulty] }

// StepsFor returns the steps for an OS ("windows", "macos", "linux").
func (f *Fix) StepsFor(os string) []string {
	if s := f.Steps[os]; len(s) > 0 {
		return s
	}
	return f.Steps["all"]
}

// Evidence is one binary symptom and its likelihood under each cause.
type Evidence struct {
	ID string `yaml:"id"`
	// Says is the plain-words sentence shown when the evidence is present;
	// SaysNot when it is observed absent.
	Says    string       `yaml:"says"`
	SaysNot string       `yaml:"says_not"`
	Base    P            `yaml:"base"` // P(present | a cause not listed) — the leak
	Given   map[string]P `yaml:"given"`
	// Question, when set, makes the evidence something a person is asked.
	Question string  `yaml:"question"`
	Minutes  float64 `yaml:"minutes"`
	// Group names a graded measurement: its bands are one categorical
	// symptom (exactly one is observed), so for every cause the bands'
	// likelihoods add up to 1.
	Group string `yaml:"group"`
}

// Likelihood is P(evidence present | cause).
func (e *Evidence) Likelihood(cause string) float64 {
	if p, ok := e.Given[cause]; ok {
		return p.P
	}
	return e.Base.P
}

// Method is one of an article's methods, with its chart row as numbers.
type Method struct {
	Name        string   `yaml:"name"`
	Fixes       []string `yaml:"fixes"`
	Difficulty  string   `yaml:"difficulty"`
	Time        string   `yaml:"time"`
	Minutes     float64  `yaml:"minutes"`
	BestFor     string   `yaml:"best_for"`
	SuccessText string   `yaml:"success_text"`
	Success     float64  `yaml:"success"`
	Why         string   `yaml:"why"`
	Steps       []string `yaml:"steps"`
}

// Step is an advanced step, tied to a fix where one exists.
type Step struct {
	Text string `yaml:"text"`
	Fix  string `yaml:"fix"`
}

// Code is one error code.
type Code struct {
	Code    string `yaml:"code"`
	Service string `yaml:"service"`
	Title   string `yaml:"title"`
	Meaning string `yaml:"meaning"`
	// Class says whose the problem is (Classes): a network or browser code
	// is diagnosed with priors; any other class has one step that helps,
	// and no blame on the network.
	Class string `yaml:"class"`
	// Where lists the devices the code is shown on (browser, tv, phone,
	// console, computer).
	Where []string `yaml:"where"`
	// Family, when set, is a prefix whose sub-codes this entry answers for
	// (M7111-1331 matches M7111-1331-4027).
	Family string `yaml:"family"`
	// Aliases are the same error under another platform's prefix
	// (S7111-1331-5059 is Safari's M7111-1331-5059).
	Aliases []string `yaml:"aliases"`
	// Step is the one step that helps, for a class other than network and
	// browser.
	Step string `yaml:"step"`
	// SeenIn says where the facts were read when that is not the source
	// itself (a thread quoting the service's error screen or article).
	SeenIn string `yaml:"seen_in"`
	// Base names a code (of the same service, or "netflix:NSEZ-503")
	// whose priors this one starts from; its own priors replace the base's for the causes they name, and
	// the whole is scaled to add up to 1.
	Base       string       `yaml:"base"`
	Causes     []string     `yaml:"causes"` // the causes people are told about, most common first
	Priors     map[string]P `yaml:"priors"`
	Methods    []Method     `yaml:"methods"`
	Outage     []string     `yaml:"outage_check"`
	Advanced   []Step       `yaml:"advanced"`
	Prevention []string     `yaml:"prevention"`
	Source     string       `yaml:"source"`
}

// KB is the whole knowledge base.
type KB struct {
	Causes   []Cause
	Fixes    []Fix
	Evidence []Evidence
	Codes    []Code

	causeByID map[string]*Cause
	fixByID   map[string]*Fix
	evByID    map[string]*Evidence
	codeByID  map[string]*Code
	services  []string // the services that have codes, sorted
}

// Cause returns a cause by id.
func (k *KB) Cause(id string) *Cause { return k.causeByID[id] }

// Fix returns a fix by id.
func (k *KB) Fix(id string) *Fix { return k.fixByID[id] }

// Ev returns an evidence symbol by id.
func (k *KB) Ev(id string) *Evidence { return k.evByID[id] }

// Classes of codes: whose problem it is.
const (
	ClassNetwork  = "network"
	ClassBrowser  = "browser"
	ClassDevice   = "device"
	ClassAccount  = "account"
	ClassPayment  = "payment"
	ClassService  = "service"
	ClassPlayback = "playback"
)

// Classes lists every class, network first.
var Classes = []string{ClassNetwork, ClassBrowser, ClassDevice, ClassAccount, ClassPayment, ClassService, ClassPlayback}

// Diagnosable reports whether the network check can find this code's
// cause (a network or browser code); any other class is answered by its
// one step.
func (c *Code) Diagnosable() bool { return c.Class == ClassNetwork || c.Class == ClassBrowser }

// Key is the code's id across services: the code itself for Netflix (the
// codes people type most), "service:CODE" for the others, whose numeric
// codes would collide ("83" is Disney+'s, and could be anyone's).
func (c *Code) Key() string { return CodeKey(c.Service, c.Code) }

// CodeKey is Code.Key for a service and a code.
func CodeKey(service, code string) string {
	code = NormalizeCode(code)
	if service == "" || service == "netflix" {
		return code
	}
	return service + ":" + code
}

// Code returns an error code by its key (Code.Key), matched without regard
// to case; Lookup also matches what people type.
func (k *KB) Code(key string) *Code {
	key = strings.TrimSpace(key)
	// "disneyplus:83"; a colon inside a code (MSL:5003) is the code's own.
	if svc, code, ok := strings.Cut(key, ":"); ok && slices.Contains(k.Services(), strings.ToLower(svc)) {
		return k.codeByID[CodeKey(strings.ToLower(svc), code)]
	}
	return k.codeByID[CodeKey("netflix", key)]
}

// NormalizeCode turns what a viewer types into the form codes are stored
// in: capitals, "Error code: NW 2 5" -> "NW-2-5", "(5.8)" kept.
func NormalizeCode(typed string) string {
	s := strings.ToUpper(strings.TrimSpace(typed))
	for _, pre := range []string{"NETFLIX ", "ERROR CODE:", "ERROR CODE", "ERROR:", "ERROR", "CODE:", "CODE"} {
		if rest, ok := strings.CutPrefix(s, pre); ok {
			s = strings.TrimSpace(rest)
		}
	}
	s = strings.Trim(s, " .:#")
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '_' || r == '\t' }), "-")
}

// Lookup finds the code a viewer typed for a service ("" for Netflix):
// exactly, else the family whose prefix it starts with (the longest), so
// that every sub-code of M7111-1331 is answered. exact is false for a
// family match.
func (k *KB) Lookup(service, typed string) (c *Code, exact bool) {
	if service == "" {
		service = "netflix"
	}
	code := NormalizeCode(typed)
	if code == "" {
		return nil, false
	}
	if c := k.codeByID[CodeKey(service, code)]; c != nil {
		return c, true
	}
	var best *Code
	for i := range k.Codes {
		f := strings.ToUpper(k.Codes[i].Family)
		if k.Codes[i].Service != service || f == "" || !strings.HasPrefix(code, f) {
			continue
		}
		// The prefix ends at a separator: M7111-1331 is not M7111-13310.
		if rest := code[len(f):]; rest != "" && !strings.ContainsAny(rest[:1], "-.( ") {
			continue
		}
		if best == nil || len(f) > len(best.Family) {
			best = &k.Codes[i]
		}
	}
	return best, false
}

// Services lists the services that have codes, sorted.
func (k *KB) Services() []string { return k.services }

// Owners lists the codes, one per service, that are exactly what was
// typed: the services a code could belong to.
func (k *KB) Owners(typed string) []*Code {
	var out []*Code
	for _, s := range k.services {
		if c, exact := k.Lookup(s, typed); c != nil && exact {
			out = append(out, c)
		}
	}
	return out
}

// CheckKey is the key a check diagnoses with for a typed code of a
// service: a network or browser code's Key, or "" (a code not in the
// catalogue, or one whose answer is its step, is checked without).
func (k *KB) CheckKey(service, typed string) string {
	if c, _ := k.Lookup(service, typed); c != nil && c.Diagnosable() {
		return c.Key()
	}
	return ""
}

// Nearest lists up to n codes of a service nearest to what was typed (edit
// distance, then shared prefix), for "did you mean".
func (k *KB) Nearest(service, typed string, n int) []*Code {
	if service == "" {
		service = "netflix"
	}
	q := NormalizeCode(typed)
	type cand struct {
		c *Code
		d int
	}
	var cs []cand
	for _, c := range k.CodeList() {
		if c.Service != service {
			continue
		}
		d := Levenshtein(q, strings.ToUpper(c.Code))
		if f := strings.ToUpper(c.Family); f != "" && strings.HasPrefix(f, q) {
			d = min(d, len(f)-len(q))
		}
		cs = append(cs, cand{c, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []*Code
	for _, c := range cs {
		if len(out) == n || c.d > max(3, len(q)/2) {
			break
		}
		out = append(out, c.c)
	}
	return out
}

// Levenshtein is the edit distance between a and b, in runes.
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// Priors returns the prior of every cause, for a code or (code "") a plain check.
func (k *KB) Priors(code string) map[string]float64 {
	out := map[string]float64{}
	if c := k.Code(code); c != nil && len(c.Priors) > 0 {
		for id, p := range c.Priors {
			out[id] = p.P
		}
	} else {
		for _, c := range k.Causes {
			out[c.ID] = c.Prior.P
		}
	}
	return out
}

// CodeList returns the codes sorted by service (Netflix first), then code.
func (k *KB) CodeList() []*Code {
	var out []*Code
	for i := range k.Codes {
		out = append(out, &k.Codes[i])
	}
	rank := func(s string) string {
		if s == "netflix" {
			return ""
		}
		return s
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := rank(out[i].Service), rank(out[j].Service); a != b {
			return a < b
		}
		return out[i].Code < out[j].Code
	})
	return out
}

//go:embed data/*.yaml
var embedded embed.FS

var (
	defaultOnce sync.Once
	defaultKB   *KB
	defaultErr  error
)

// Default returns the embedded knowledge base (loaded once).
func Default() (*KB, error) {
	defaultOnce.Do(func() {
		sub, _ := fs.Sub(embedded, "data")
		defaultKB, defaultErr = LoadFS(sub)
	})
	return defaultKB, defaultErr
}

// MustDefault is Default for callers that have a tested embedded KB.
func MustDefault() *KB {
	k, err := Default()
	if err != nil {
		panic(err)
	}
	return k
}

// The files of a KB directory.
const (
	FileCauses   = "causes.yaml"
	FileFixes    = "fixes.yaml"
	FileEvidence = "evidence.yaml"
	FileCodes    = "codes.yaml"
)

// LoadFS loads and validates the four files from fsys.
func LoadFS(fsys fs.FS) (*KB, error) {
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	var srcs [4][]byte
	for i, n := range []string{FileCauses, FileFixes, FileEvidence, FileCodes} {
		b, err := read(n)
		if err != nil {
			return nil, err
		}
		srcs[i] = b
	}
	return Load(srcs[0], srcs[1], srcs[2], srcs[3])
}

// Error is a validation error that names the file, the line and the key.
type Error = yamlx.Error

type doc = yamlx.Doc

func parse(file string, src []byte, v any) (*doc, error) { return yamlx.Decode(file, src, v) }

// Load parses and validates the four files' contents.
func Load(causesSrc, fixesSrc, evidenceSrc, codesSrc []byte) (*KB, error) {
	k := &KB{}
	var cf struct {
		Version int     `yaml:"version"`
		Causes  []Cause `yaml:"causes"`
	}
	var ff struct {
		Version int   `yaml:"version"`
		Fixes   []Fix `yaml:"fixes"`
	}
	var ef struct {
		Version  int        `yaml:"version"`
		Evidence []Evidence `yaml:"evidence"`
	}
	var kf struct {
		Version int    `yaml:"version"`
		Codes   []Code `yaml:"codes"`
	}
	cd, err := parse(FileCauses, causesSrc, &cf)
	if err != nil {
		return nil, err
	}
	fd, err := parse(FileFixes, fixesSrc, &ff)
	if err != nil {
		return nil, err
	}
	ed, err := parse(FileEvidence, evidenceSrc, &ef)
	if err != nil {
		return nil, err
	}
	kd, err := parse(FileCodes, codesSrc, &kf)
	if err != nil {
		return nil, err
	}
	for _, v := range []struct {
		d *doc
		n int
	}{{cd, cf.Version}, {fd, ff.Version}, {ed, ef.Version}, {kd, kf.Version}} {
		if v.n != 1 {
			return nil, v.d.ErrAt(fmt.Sprintf("version must be 1, got %d", v.n), "version")
		}
	}
	k.Causes, k.Fixes, k.Evidence, k.Codes = cf.Causes, ff.Fixes, ef.Evidence, kf.Codes
	if err := k.index(cd, fd, ed, kd); err != nil {
		return nil, err
	}
	return k, nil
}

func checkP(d *doc, p P, path ...any) error {
	if math.IsNaN(p.P) || p.P < 0 || p.P > 1 {
		return d.ErrAt(fmt.Sprintf("probability %v is outside 0..1", p.P), append(path, "p")...)
	}
	if strings.TrimSpace(p.Why) == "" {
		return d.ErrAt("a probability needs a one-line reason (why)", append(path, "why")...)
	}
	return nil
}

func (k *KB) index(cd, fd, ed, kd *doc) error {
	k.causeByID = map[string]*Cause{}
	k.fixByID = map[string]*Fix{}
	k.evByID = map[string]*Evidence{}
	k.codeByID = map[string]*Code{}
	for i := range k.Causes {
		c := &k.Causes[i]
		switch {
		case !slices.Contains(CauseIDs, c.ID):
			return cd.ErrAt(fmt.Sprintf("unknown cause id %q", c.ID), "causes", i, "id")
		case k.causeByID[c.ID] != nil:
			return cd.ErrAt(fmt.Sprintf("cause %q defined twice", c.ID), "causes", i, "id")
		case strings.TrimSpace(c.Title) == "":
			return cd.ErrAt("missing title", "causes", i, "title")
		case strings.TrimSpace(c.Explain) == "":
			return cd.ErrAt("missing explanation", "causes", i, "explain")
		}
		if err := checkP(cd, c.Prior, "causes", i, "prior"); err != nil {
			return err
		}
		k.causeByID[c.ID] = c
	}
	for _, id := range CauseIDs {
		if k.causeByID[id] == nil {
			return cd.ErrAt(fmt.Sprintf("cause %q is missing", id), "causes")
		}
	}
	if err := checkSum(cd, k.Priors(""), "causes"); err != nil {
		return err
	}
	for i := range k.Fixes {
		f := &k.Fixes[i]
		switch {
		case !slices.Contains(FixIDs, f.ID):
			return fd.ErrAt(fmt.Sprintf("unknown fix id %q", f.ID), "fixes", i, "id")
		case k.fixByID[f.ID] != nil:
			return fd.ErrAt(fmt.Sprintf("fix %q defined twice", f.ID), "fixes", i, "id")
		case strings.TrimSpace(f.Title) == "":
			return fd.ErrAt("missing title", "fixes", i, "title")
		case strings.TrimSpace(f.Explain) == "":
			return fd.ErrAt("missing explanation", "fixes", i, "explain")
		case DifficultyFactor[f.Difficulty] == 0:
			return fd.ErrAt(fmt.Sprintf("difficulty %q must be easy, moderate or hard", f.Difficulty), "fixes", i, "difficulty")
		case !(f.Minutes > 0) || f.Minutes > 24*60:
			return fd.ErrAt(fmt.Sprintf("minutes %v must be between 0 and 1440", f.Minutes), "fixes", i, "minutes")
		}
		for os := range f.Steps {
			if os != "all" && !slices.Contains(OSes, os) {
				return fd.ErrAt(fmt.Sprintf("unknown OS %q (all, windows, macos, linux)", os), "fixes", i, "steps", os)
			}
		}
		for _, os := range OSes {
			if len(f.StepsFor(os)) == 0 {
				return fd.ErrAt("missing steps for "+os, "fixes", i, "steps")
			}
		}
		for os := range f.Automated {
			if !slices.Contains(OSes, os) {
				return fd.ErrAt(fmt.Sprintf("unknown OS %q", os), "fixes", i, "automated", os)
			}
		}
		if len(f.Repairs) == 0 {
			return fd.ErrAt("a fix must repair at least one cause", "fixes", i, "repairs")
		}
		if f.Requires != "" && !catalog.IsEvidence(f.Requires) {
			return fd.ErrAt(fmt.Sprintf("unknown evidence id %q", f.Requires), "fixes", i, "requires")
		}
		for _, c := range slices.Sorted(maps.Keys(f.Repairs)) {
			if k.causeByID[c] == nil {
				return fd.ErrAt(fmt.Sprintf("unknown cause id %q", c), "fixes", i, "repairs", c)
			}
			if err := checkP(fd, f.Repairs[c], "fixes", i, "repairs", c); err != nil {
				return err
			}
		}
		k.fixByID[f.ID] = f
	}
	for _, id := range FixIDs {
		if k.fixByID[id] == nil {
			return fd.ErrAt(fmt.Sprintf("fix %q is missing", id), "fixes")
		}
	}
	for i := range k.Evidence {
		e := &k.Evidence[i]
		switch {
		case e.ID == "":
			return ed.ErrAt("missing id", "evidence", i)
		case k.evByID[e.ID] != nil:
			return ed.ErrAt(fmt.Sprintf("evidence %q defined twice", e.ID), "evidence", i, "id")
		case strings.TrimSpace(e.Says) == "":
			return ed.ErrAt("missing says", "evidence", i, "says")
		case e.Question != "" && !(e.Minutes > 0):
			return ed.ErrAt("a question needs minutes > 0", "evidence", i, "minutes")
		case !catalog.IsEvidence(e.ID):
			return ed.ErrAt(fmt.Sprintf("evidence %q is neither derived by a rule of the probe catalogue nor a question's answer", e.ID), "evidence", i, "id")
		case (e.Question != "") != slices.Contains(catalog.Answered, e.ID):
			return ed.ErrAt(fmt.Sprintf("evidence %q: the answers to questions, and only they, have a question", e.ID), "evidence", i, "question")
		}
		if err := checkP(ed, e.Base, "evidence", i, "base"); err != nil {
			return err
		}
		for _, c := range slices.Sorted(maps.Keys(e.Given)) {
			if k.causeByID[c] == nil {
				return ed.ErrAt(fmt.Sprintf("unknown cause id %q", c), "evidence", i, "given", c)
			}
			if err := checkP(ed, e.Given[c], "evidence", i, "given", c); err != nil {
				return err
			}
		}
		k.evByID[e.ID] = e
	}
	// A graded measurement's bands must each add up to 1 for every cause.
	groups := map[string][]int{}
	for i, e := range k.Evidence {
		if e.Group != "" {
			groups[e.Group] = append(groups[e.Group], i)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		for _, c := range CauseIDs {
			sum := 0.0
			for _, i := range groups[g] {
				sum += k.Evidence[i].Likelihood(c)
			}
			if math.Abs(sum-1) > 0.011 {
				return ed.ErrAt(fmt.Sprintf("the bands of %q add up to %.3f for cause %q, not 1", g, sum, c), "evidence", groups[g][0], "group")
			}
		}
	}
	for _, id := range catalog.EvidenceIDs() {
		if k.evByID[id] == nil {
			return ed.ErrAt(fmt.Sprintf("evidence %q, which the engine derives, is missing", id), "evidence")
		}
	}
	for i, c := range k.Causes {
		total := 0.0
		for j, pr := range c.Presentations {
			if err := checkP(cd, pr.Share, "causes", i, "presentations", j, "share"); err != nil {
				return err
			}
			total += pr.Share.P
			for _, e := range slices.Sorted(maps.Keys(pr.Given)) {
				if k.evByID[e] == nil {
					return cd.ErrAt(fmt.Sprintf("unknown evidence %q", e), "causes", i, "presentations", j, "given", e)
				}
				if err := checkP(cd, pr.Given[e], "causes", i, "presentations", j, "given", e); err != nil {
					return err
				}
			}
		}
		if len(c.Presentations) > 0 && math.Abs(total-1) > 0.011 {
			return cd.ErrAt(fmt.Sprintf("presentation shares add up to %.3f, not 1", total), "causes", i, "presentations")
		}
	}
	// Codes: each checked, then priors that start from a base filled in
	// (a base may come later in the file).
	for i := range k.Codes {
		c := &k.Codes[i]
		if c.Service == "" {
			c.Service = "netflix"
		}
		code := c.Key()
		switch {
		case strings.TrimSpace(c.Code) == "":
			return kd.ErrAt("missing code", "codes", i)
		case k.codeByID[code] != nil:
			return kd.ErrAt(fmt.Sprintf("code %q defined twice", c.Code), "codes", i, "code")
		case c.Title == "" || c.Meaning == "":
			return kd.ErrAt("a code needs a title and a meaning", "codes", i)
		case !slices.Contains(Classes, c.Class):
			return kd.ErrAt(fmt.Sprintf("class %q is not one of %s", c.Class, strings.Join(Classes, ", ")), "codes", i, "class")
		case strings.TrimSpace(c.Source) == "":
			return kd.ErrAt("a code needs a source: where its facts come from", "codes", i, "source")
		case !c.Diagnosable() && strings.TrimSpace(c.Step) == "":
			return kd.ErrAt(fmt.Sprintf("a %s code needs the one step that helps (step)", c.Class), "codes", i, "step")
		case !c.Diagnosable() && (len(c.Priors) > 0 || c.Base != ""):
			return kd.ErrAt(fmt.Sprintf("a %s code is not diagnosed on the network: leave out priors and base", c.Class), "codes", i, "priors")
		case c.Diagnosable() && len(c.Priors) == 0 && c.Base == "":
			return kd.ErrAt(fmt.Sprintf("a %s code needs priors over causes (or a base and the priors that differ)", c.Class), "codes", i, "priors")
		}
		for j, id := range c.Causes {
			if k.causeByID[id] == nil {
				return kd.ErrAt(fmt.Sprintf("unknown cause id %q", id), "codes", i, "causes", j)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(c.Priors)) {
			if k.causeByID[id] == nil {
				return kd.ErrAt(fmt.Sprintf("unknown cause id %q", id), "codes", i, "priors", id)
			}
			if err := checkP(kd, c.Priors[id], "codes", i, "priors", id); err != nil {
				return err
			}
		}
		k.codeByID[code] = c
		for j, a := range c.Aliases {
			if k.codeByID[CodeKey(c.Service, a)] != nil {
				return kd.ErrAt(fmt.Sprintf("code %q defined twice", a), "codes", i, "aliases", j)
			}
			k.codeByID[CodeKey(c.Service, a)] = c
		}
	}
	seen := map[string]bool{}
	for _, c := range k.Codes {
		seen[c.Service] = true
	}
	k.services = slices.Sorted(maps.Keys(seen))
	// A base may have a base of its own: priors are filled in base first.
	done := map[*Code]bool{}
	var fill func(c *Code, i, depth int) error
	fill = func(c *Code, i, depth int) error {
		if done[c] || c.Base == "" {
			return nil
		}
		// A base of another service is named with its own: netflix:NSEZ-503.
		b := k.codeByID[CodeKey(c.Service, c.Base)]
		if b == nil && strings.Contains(c.Base, ":") {
			b = k.Code(c.Base)
		}
		switch {
		case b == nil:
			return kd.ErrAt(fmt.Sprintf("base %q is not a %s code", c.Base, c.Service), "codes", i, "base")
		case depth > 8 || b == c:
			return kd.ErrAt(fmt.Sprintf("base %q leads round in a circle", c.Base), "codes", i, "base")
		case !b.Diagnosable():
			return kd.ErrAt(fmt.Sprintf("base %q is a %s code, which has no priors", c.Base, b.Class), "codes", i, "base")
		}
		if err := fill(b, i, depth+1); err != nil {
			return err
		}
		merged := map[string]P{}
		maps.Copy(merged, b.Priors)
		maps.Copy(merged, c.Priors)
		sum := 0.0
		for _, p := range merged {
			sum += p.P
		}
		for id, p := range merged {
			p.P /= sum
			merged[id] = p
		}
		c.Priors = merged
		done[c] = true
		return nil
	}
	for i := range k.Codes {
		c := &k.Codes[i]
		if err := fill(c, i, 0); err != nil {
			return err
		}
		for _, id := range CauseIDs {
			if _, ok := c.Priors[id]; !ok && len(c.Priors) > 0 {
				return kd.ErrAt(fmt.Sprintf("prior for cause %q is missing", id), "codes", i, "priors")
			}
		}
		if len(c.Priors) > 0 {
			if err := checkSum(kd, k.Priors(c.Key()), "codes", i, "priors"); err != nil {
				return err
			}
		}
		for j, m := range c.Methods {
			for n, id := range m.Fixes {
				if k.fixByID[id] == nil {
					return kd.ErrAt(fmt.Sprintf("unknown fix id %q", id), "codes", i, "methods", j, "fixes", n)
				}
			}
			if len(m.Steps) == 0 {
				return kd.ErrAt("missing steps", "codes", i, "methods", j, "steps")
			}
			if m.Success < 0 || m.Success > 1 {
				return kd.ErrAt(fmt.Sprintf("probability %v is outside 0..1", m.Success), "codes", i, "methods", j, "success")
			}
		}
		for j, s := range c.Advanced {
			if s.Fix != "" && k.fixByID[s.Fix] == nil {
				return kd.ErrAt(fmt.Sprintf("unknown fix id %q", s.Fix), "codes", i, "advanced", j, "fix")
			}
		}
	}
	return nil
}

func checkSum(d *doc, m map[string]float64, path ...any) error {
	sum := 0.0
	for _, v := range m {
		sum += v
	}
	if math.Abs(sum-1) > 0.011 {
		return d.ErrAt(fmt.Sprintf("priors add up to %.3f, not 1", sum), path...)
	}
	return nil
}
