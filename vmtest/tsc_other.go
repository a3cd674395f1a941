//go:build !amd64

package vmtest

func rdtsc() uint64 { return 0 }

const haveTSC = false
