package lab

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/engine"
	"github.com/streamdoctor/streamdoctor/internal/evidence"
	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/probe"
	"github.com/streamdoctor/streamdoctor/internal/report"
)

func TestZZRender(t *testing.T) {
	dir := os.Getenv("RENDER")
	if dir == "" {
		t.Skip()
	}
	os.MkdirAll(dir, 0o755)
	k := kb.MustDefault()
	files, _ := filepath.Glob("/tmp/golden/*.json")
	for _, f := range files {
		var g struct {
			Code    string
			Answers map[string]string
			Obs     []probe.Observation
		}
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		ev := evidence.Derive(g.Obs, g.Answers)
		d, err := engine.Diagnose(k, engine.Input{Code: g.Code, Evidence: ev})
		if err != nil {
			t.Fatal(err)
		}
		r := report.Build(k, report.Input{Service: "netflix", ServiceTitle: "Netflix", Code: g.Code, OS: "linux", StartedAt: time.Unix(0, 0), Observations: g.Obs, Diagnosis: d, Evidence: ev})
		var buf bytes.Buffer
		evb, _ := json.MarshalIndent(ev, "", " ")
		buf.Write(evb)
		buf.WriteString("\n")
		report.JSON(&buf, r)
		report.Text(&buf, k, r, report.TextOptions{Verbose: true})
		report.Markdown(&buf, k, r)
		report.HTML(&buf, k, r)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)+".out"), buf.Bytes(), 0o644)
	}
}
