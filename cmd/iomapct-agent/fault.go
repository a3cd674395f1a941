//go:build linux

package main

// beforeCase runs after a case's start record and before its ops. It does
// nothing in the agent users run; an agent built with a fault tag
// (fault_panic.go) replaces it, so the host's handling of a broken agent is
// tested on a real guest rather than on recorded output alone.
var beforeCase = func(name string) {}
