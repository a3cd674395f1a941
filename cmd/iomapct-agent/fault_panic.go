//go:build linux && agentfault_panic

package main

import "fmt"

// Built with -tags agentfault_panic, the agent panics at the start of its
// second case: the first case's result is on the wire, the rest never run.
// cmd/iomapct's TestAgentPanicOnRealGuest boots it.
func init() {
	started := 0
	beforeCase = func(name string) {
		started++
		if started == 2 {
			panic(fmt.Sprintf("planted agent fault at %s", name))
		}
	}
}
