package main

import "github.com/spf13/cobra"

// describedWorld gives a probing command (check, speed, facts, web) the
// hidden --env-file flag, which points its probes at a fault-lab world
// instead of this machine. Only a lab build sets it (go build -tags
// streamdoctor_lab; labenv.go): the shipped binary has no such flag and
// links nothing of the lab.
var describedWorld func(c *cobra.Command, ios *IO)
