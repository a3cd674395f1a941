package vmtest

import (
	"fmt"
	"sync"
	"time"

	"github.com/iomapct/iomapct/vmtest/proto"
)

// DefaultCaseTimeout is the per-case limit when Machine.CaseTimeout is 0. A
// case takes milliseconds (700 of them run in about 6 s under TCG), so a
// minute is far beyond any slow host yet well inside the VM deadline; it is
// also above the guest's hung-task timeout (30 s, see guest.Setup), so a task
// blocked in D state usually has the kernel's own report on the console by
// the time the watchdog fires.
const DefaultCaseTimeout = time.Minute

// Hang says what the watchdog found: the guest sent no record for longer
// than the limit, so the host killed QEMU.
type Hang struct {
	// Case is the case that ran too long (a Start without its Result); it
	// is empty when the guest went quiet between cases (mounting,
	// unmounting, the agent itself).
	Case string `json:"case,omitempty"`
	// After is the last record before the silence, e.g. "result xfs-4k/a".
	After string `json:"after"`
	// For is how long the case (or the silence) had lasted when QEMU was
	// killed; Limit is the limit it broke.
	For   time.Duration `json:"for_ns"`
	Limit time.Duration `json:"limit_ns"`
	// Dumped is true when the agent answered the request for a sysrq-w
	// dump, so the console holds the blocked tasks' stacks.
	Dumped bool `json:"dumped"`
}

func (h *Hang) String() string {
	what := fmt.Sprintf("case %s hung: no result after %.1fs (per-case limit %v)", h.Case, h.For.Seconds(), h.Limit)
	if h.Case == "" {
		what = fmt.Sprintf("the guest went quiet for %.1fs after %s (limit %v)", h.For.Seconds(), h.After, h.Limit)
	}
	what += "; the watchdog killed QEMU"
	if h.Dumped {
		what += " after a sysrq-w dump of the blocked tasks (on the console)"
	} else {
		what += " (the agent did not answer the request for a stack dump)"
	}
	return what
}

// activity is what the guest was last seen doing, from its records alone.
type activity struct {
	ready   bool      // the agent has sent its first record
	running string    // the case between its Start and its Result
	last    string    // the last record, e.g. "start xfs-4k/a"
	since   time.Time // the running case's Start, else the last record
}

func (a *activity) observe(r proto.Record, now time.Time) {
	a.ready = true
	a.last = r.Type
	if r.Name != "" {
		a.last += " " + r.Name
	}
	switch r.Type {
	case proto.Start:
		a.running = r.Name
	case proto.Result, proto.Done:
		a.running = ""
	}
	// A case's limit runs from its Start whatever else the agent says
	// meanwhile (a Log record); between cases any record shows the guest
	// alive.
	if r.Type != proto.Log || a.running == "" {
		a.since = now
	}
}

// hang returns the hang at now, or nil while the guest is within limit.
// Before the agent's first record nothing is timed: booting is bounded
// by the VM deadline.
func (a *activity) hang(now time.Time, limit time.Duration) *Hang {
	if !a.ready || now.Sub(a.since) < limit {
		return nil
	}
	return &Hang{Case: a.running, After: a.last, For: now.Sub(a.since), Limit: limit}
}

// watchdog times the gaps between the guest's records: a case's Start
// to its Result, and any other silence, each against the same limit.
type watchdog struct {
	limit time.Duration
	now   func() time.Time
	mu    sync.Mutex
	act   activity
	kick  chan struct{}
}

func newWatchdog(limit time.Duration) *watchdog {
	return &watchdog{limit: limit, now: time.Now, kick: make(chan struct{}, 1)}
}

// observe records r; it never blocks (it runs on the result reader).
func (w *watchdog) observe(r proto.Record) {
	w.mu.Lock()
	w.act.observe(r, w.now())
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// snapshot is the activity now.
func (w *watchdog) snapshot() activity {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.act
}

// wait returns the hang once the guest exceeds the limit, or nil when stop
// closes first. A limit below zero disables it.
func (w *watchdog) wait(stop <-chan struct{}) *Hang {
	if w.limit < 0 {
		<-stop
		return nil
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		w.mu.Lock()
		a := w.act
		w.mu.Unlock()
		now := w.now()
		if h := a.hang(now, w.limit); h != nil {
			return h
		}
		if a.ready {
			t.Reset(a.since.Add(w.limit).Sub(now))
		}
		select {
		case <-stop:
			t.Stop()
			return nil
		case <-w.kick:
		case <-t.C:
		}
	}
}
