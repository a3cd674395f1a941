package vmtest

import (
	"sync"
	"time"
)

// hostTSCkHz is the host's TSC rate in kHz, 0 if unknown. Under TCG it is
// the guest's too: QEMU's rdtsc helper returns the host's TSC plus an
// offset. Measured once, against the monotonic clock, over tscSpan.
var hostTSCkHz = sync.OnceValue(func() int64 {
	if !haveTSC {
		return 0
	}
	t0, c0 := time.Now(), rdtsc()
	time.Sleep(tscSpan)
	c1, t1 := rdtsc(), time.Now()
	return int64(float64(c1-c0) / t1.Sub(t0).Seconds() / 1e3)
})

// tscSpan makes the measurement good to well under 0.1%: the two clocks
// are read back to back at each end, microseconds apart.
const tscSpan = 20 * time.Millisecond
