//go:build streamdoctor_lab

package main

import (
	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/lab/netmap"
	"github.com/streamdoctor/streamdoctor/internal/probe"
)

func init() { describedWorld = envFileFlag }

// envFileFlag adds --env-file to c: the probes then reach the world a
// streamdoctor.env/v1 file describes (streamdoctor-lab serve writes one).
func envFileFlag(c *cobra.Command, ios *IO) {
	var path string
	c.Flags().StringVar(&path, "env-file", "", "probe a described world (streamdoctor.env/v1) instead of this machine")
	_ = c.Flags().MarkHidden("env-file")
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if path != "" {
			e, err := netmap.LoadEnv(path)
			if err != nil {
				return usageErr("--env-file: %s", err)
			}
			ios.Env = func() *probe.Env { return e }
		}
		return run(cmd, args)
	}
}
