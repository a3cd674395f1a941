package vmtest

func rdtsc() uint64

const haveTSC = true
