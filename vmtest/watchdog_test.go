package vmtest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/vmtest/proto"
)

func rec(typ, name string) proto.Record { return proto.Record{Type: typ, Name: name} }

func TestActivityNamesTheRunningCase(t *testing.T) {
	t0 := time.Unix(1000, 0)
	limit := time.Minute
	var a activity
	assert.Nil(t, a.hang(t0.Add(time.Hour), limit), "booting is the VM deadline's business")

	a.observe(rec(proto.Ready, ""), t0)
	assert.Nil(t, a.hang(t0.Add(limit-time.Nanosecond), limit))
	h := a.hang(t0.Add(limit), limit)
	require.NotNil(t, h, "a silent agent after ready is a hang too (the first mount)")
	assert.Equal(t, "", h.Case)
	assert.Equal(t, "ready", h.After)

	a.observe(rec(proto.Start, "xfs-4k/a"), t0.Add(time.Second))
	a.observe(rec(proto.Log, "note"), t0.Add(2*time.Second))
	h = a.hang(t0.Add(91*time.Second), limit)
	require.NotNil(t, h)
	assert.Equal(t, "xfs-4k/a", h.Case, "a log record inside a case leaves the case running")
	assert.Equal(t, 90*time.Second, h.For, "from the case's start, not from the log record")
	assert.Equal(t, limit, h.Limit)
	assert.Contains(t, h.String(), "case xfs-4k/a hung: no result after 90.0s (per-case limit 1m0s)")

	a.observe(rec(proto.Result, "xfs-4k/a"), t0.Add(3*time.Second))
	assert.Nil(t, a.hang(t0.Add(3*time.Second+limit-time.Nanosecond), limit), "a result restarts the clock")
	h = a.hang(t0.Add(3*time.Second+limit), limit)
	require.NotNil(t, h, "an unmount that never returns")
	assert.Equal(t, "", h.Case)
	assert.Equal(t, "result xfs-4k/a", h.After)
	assert.Contains(t, h.String(), "the guest went quiet for 60.0s after result xfs-4k/a")

	a.observe(rec(proto.Start, "xfs-4k/b"), t0.Add(4*time.Second))
	a.observe(rec(proto.Done, ""), t0.Add(5*time.Second))
	h = a.hang(t0.Add(5*time.Second+limit), limit)
	require.NotNil(t, h, "a guest that never leaves after done")
	assert.Equal(t, "", h.Case)
	assert.Equal(t, "done", h.After)
}

// fakeClock is a settable time for the watchdog.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// The watchdog's loop on a fake clock: its timers are an hour of real time
// away, so only the records' kicks make it look again, and it must then
// judge by the clock and the latest record.
func TestWatchdogFiresOnTheLatestState(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := &fakeClock{t: t0}
	w := newWatchdog(time.Hour)
	w.now = clk.now
	stop := make(chan struct{})
	got := make(chan *Hang, 1)
	go func() { got <- w.wait(stop) }()

	w.observe(rec(proto.Ready, ""))
	w.observe(rec(proto.Start, "ext4-1k/a"))
	clk.set(t0.Add(30 * time.Minute))
	w.observe(rec(proto.Result, "ext4-1k/a"))
	w.observe(rec(proto.Start, "ext4-1k/b"))
	clk.set(t0.Add(30*time.Minute + 2*time.Hour))
	w.observe(rec(proto.Log, "still in b")) // the kick that makes it look
	h := receive(t, got)
	require.NotNil(t, h)
	assert.Equal(t, "ext4-1k/b", h.Case)
	assert.Equal(t, 2*time.Hour, h.For, "measured from the case's start")
}

func TestWatchdogStopsAndCanBeDisabled(t *testing.T) {
	for _, limit := range []time.Duration{time.Hour, -1} {
		w := newWatchdog(limit)
		w.observe(rec(proto.Ready, ""))
		stop := make(chan struct{})
		got := make(chan *Hang, 1)
		go func() { got <- w.wait(stop) }()
		close(stop)
		assert.Nil(t, receive(t, got), "limit %v", limit)
	}
}

// On the real clock: a case that never ends is caught once its limit has
// passed, and not before.
func TestWatchdogRealTimer(t *testing.T) {
	const limit = 50 * time.Millisecond
	w := newWatchdog(limit)
	w.observe(rec(proto.Ready, ""))
	w.observe(rec(proto.Start, "gfs2-4k/a"))
	started := time.Now()
	h := w.wait(make(chan struct{}))
	require.NotNil(t, h)
	assert.Equal(t, "gfs2-4k/a", h.Case)
	assert.GreaterOrEqual(t, time.Since(started), limit)
	assert.GreaterOrEqual(t, h.For, limit)
}

// receive guards a test against a watchdog that never returns: a bound on
// failure, not a synchronisation.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatal("nothing received within a minute")
		panic("unreachable")
	}
}
