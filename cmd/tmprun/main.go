package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/kb"
	"github.com/streamdoctor/streamdoctor/internal/lab"
)

func main() {
	k := kb.MustDefault()
	for _, f := range os.Args[1:] {
		sc, err := lab.LoadFile(f)
		if err != nil {
			fmt.Println(err)
			continue
		}
		r, err := lab.Run(context.Background(), k, sc, 5*time.Second)
		if err != nil {
			fmt.Println(err)
			continue
		}
		alt := ""
		for _, c := range r.Check.Diagnosis.Causes[1:3] {
			alt += fmt.Sprintf(" %s=%.0f%%", c.Cause, c.P*100)
		}
		mark := "ok  "
		if !r.Pass {
			mark = "MISS"
		}
		fmt.Printf("%s %-26s exp %-20s got %-20s %3.0f%% |%s | %dms\n", mark, sc.Name, r.Expected, r.Diagnosed, r.Probability*100, alt, r.WallMS)
	}
}
