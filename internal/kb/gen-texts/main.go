// Command gen-texts writes the viewer texts that live outside the message
// files — the knowledge base's and the probe catalogue's — as the English
// translator's file (internal/lang/locales/kb.en.yaml).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/streamdoctor/streamdoctor/internal/kb"
)

func main() {
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()
	b, err := kb.SourceFile()
	if err == nil && *out == "" {
		_, err = os.Stdout.Write(b)
	} else if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-texts:", err)
		os.Exit(1)
	}
}
