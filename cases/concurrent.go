package cases

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A race is a concurrent case. The case's ordinary ops (FilePlan.Ops) run
// alone first and set the file up; then the race runs in Rounds rounds. In
// every round each thread runs its op list once, all threads released
// together by a barrier (never by sleeps), so their ops overlap in time;
// thread ops that take an offset are shifted by round*Stride, so every
// round races on fresh bytes and the final file holds the outcome of every
// round, each judged on its own. Actors loop in the background from the
// first round to the last: writeback pushers, cache droppers, a memory
// balloon. TCG's vCPUs interleave coarsely; many short rounds are what
// widen the windows.
type Race struct {
	Rounds int `json:"rounds"`
	// Stride is how far each round shifts the thread ops' offsets.
	Stride  int64        `json:"stride"`
	Threads []RaceThread `json:"threads"`
	Actors  []Actor      `json:"actors,omitempty"`
	// DirtyBytes, if set, is vm.dirty_bytes (and half of it
	// vm.dirty_background_bytes) for the race: writers are throttled in
	// balance_dirty_pages after a few folios and sleep there while the
	// flusher writes back, which opens the window between a write's
	// mapping and its later folios wide. The guest restores the ratios
	// afterwards.
	DirtyBytes int64 `json:"dirty_bytes,omitempty"`
	// Seed names the random race a random case was drawn from (0 for the
	// catalogue); it is only recorded, the thread lists are the race.
	Seed int64 `json:"seed,omitempty"`
}

// RaceThread is one OS thread's op list, run once per round.
type RaceThread struct {
	Ops []Op `json:"ops"`
	// SweepNS, if set, holds the thread back in round k by (k mod 8) *
	// SweepNS nanoseconds, busy-waited after the barrier: the threads'
	// phases are swept across rounds so that some round catches a fast
	// writer overtaking a slow one over the same bytes. It shifts timing;
	// nothing waits on it for ordering.
	SweepNS int64 `json:"sweep_ns,omitempty"`
}

// Sweep is the delay of a thread with SweepNS in round k.
func (th RaceThread) Sweep(k int) int64 { return int64(k%8) * th.SweepNS }

// ActorKind names a background actor.
type ActorKind string

const (
	// SyncRange pushes writeback: sync_file_range(WRITE) over the file,
	// every fourth loop WAIT_BEFORE|WRITE|WAIT_AFTER.
	SyncRange ActorKind = "syncrange"
	// DataSync loops fdatasync.
	DataSync ActorKind = "fdatasync"
	// FadviseDrop loops posix_fadvise(DONTNEED) over the file: it starts
	// writeback of dirty folios and drops clean ones from the page cache.
	FadviseDrop ActorKind = "fadvise"
	// DropCache loops echo 1 > /proc/sys/vm/drop_caches.
	DropCache ActorKind = "dropcache"
	// Balloon holds anonymous memory (all of MemAvailable but MiB MiB) for
	// the whole race and keeps touching it, so reclaim writes back and
	// frees the file's folios while writers still copy into them.
	Balloon ActorKind = "balloon"
)

// ActorKinds lists the actor kinds.
var ActorKinds = []ActorKind{SyncRange, DataSync, FadviseDrop, DropCache, Balloon}

// Actor is one background actor; MiB is the balloon's headroom.
type Actor struct {
	Kind ActorKind `json:"kind"`
	MiB  int64     `json:"mib,omitempty"`
}

func (a Actor) String() string {
	if a.Kind == Balloon {
		return fmt.Sprintf("%s %d", a.Kind, a.MiB)
	}
	return string(a.Kind)
}

// RaceIndexBase is the op number of thread 0's first op: data written in a
// race is tagged RaceIndex(t, j), apart from the setup ops' numbers.
const RaceIndexBase = 100

// RaceMaxOps bounds a thread's op list, so op numbers stay distinct mod
// 255 (FillData's tag) for up to RaceMaxThreads threads.
const (
	RaceMaxOps     = 16
	RaceMaxThreads = 8
)

// RaceIndex is the op number (FillData's index) of thread t's op j.
func RaceIndex(t, j int) int { return RaceIndexBase + t*RaceMaxOps + j }

// raceKinds are the op kinds a race thread may run. ShortCopy, PolluteEOF,
// Remount and JournalData are left out: their outcome under a race is not
// something the checker can bound.
var raceKinds = map[Kind]bool{
	PWrite: true, Writev: true, Append: true, DirectWrite: true, MmapWrite: true,
	Truncate: true, Fallocate: true, PunchHole: true, ZeroRange: true,
	Fsync: true, Fdatasync: true,
}

// Shifted returns op moved by delta bytes when it takes an offset (appends
// land at EOF and flushes take none).
func Shifted(op Op, delta int64) Op {
	switch op.Kind {
	case Append, Fsync, Fdatasync, Sync, DropCaches:
		return op
	}
	op.Off += delta
	return op
}

// Validate checks the race's shape.
func (r *Race) Validate() error {
	if r.Rounds < 1 {
		return fmt.Errorf("race: %d rounds (want 1 or more)", r.Rounds)
	}
	if r.Stride < 0 {
		return fmt.Errorf("race: negative stride %d", r.Stride)
	}
	if r.DirtyBytes != 0 && r.DirtyBytes < 2*pageSize {
		return fmt.Errorf("race: dirty=%d is below the kernel's least vm.dirty_bytes (two pages)", r.DirtyBytes)
	}
	if len(r.Threads) < 1 || len(r.Threads) > RaceMaxThreads {
		return fmt.Errorf("race: %d threads (want 1 to %d)", len(r.Threads), RaceMaxThreads)
	}
	for t, th := range r.Threads {
		if len(th.Ops) == 0 || len(th.Ops) > RaceMaxOps {
			return fmt.Errorf("race thread %d: %d ops (want 1 to %d)", t, len(th.Ops), RaceMaxOps)
		}
		for j, o := range th.Ops {
			if err := o.Validate(); err != nil {
				return fmt.Errorf("race thread %d op %d: %w", t, j, err)
			}
			if !raceKinds[o.Kind] {
				return fmt.Errorf("race thread %d op %d: %s cannot run in a race", t, j, o.Kind)
			}
		}
	}
	for i, a := range r.Actors {
		ok := false
		for _, k := range ActorKinds {
			ok = ok || k == a.Kind
		}
		if !ok {
			return fmt.Errorf("race actor %d: unknown kind %q", i, a.Kind)
		}
		if (a.Kind == Balloon) != (a.MiB > 0) {
			return fmt.Errorf("race actor %d: only a balloon takes (and needs) a headroom in MiB", i)
		}
	}
	return nil
}

// RaceOp is one op instance of a race: thread Thread's op Op (its number
// in the thread's list) in round Round, already shifted.
type RaceOp struct {
	Round, Thread, Op int
	// Index is the data tag (RaceIndex).
	Index int
	O     Op
}

func (ro RaceOp) String() string {
	return fmt.Sprintf("round %d thread %d op %d (%s)", ro.Round, ro.Thread, ro.Op, ro.O)
}

// Instances lists every op instance the race runs, round by round, each
// thread's ops in its order.
func (r *Race) Instances() []RaceOp {
	var out []RaceOp
	for k := 0; k < r.Rounds; k++ {
		for t, th := range r.Threads {
			for j, o := range th.Ops {
				out = append(out, RaceOp{Round: k, Thread: t, Op: j, Index: RaceIndex(t, j), O: Shifted(o, int64(k)*r.Stride)})
			}
		}
	}
	return out
}

// RaceResult is what the guest reports about a race (in Result.Race).
type RaceResult struct {
	// CPUs is how many CPUs the guest ran the race on: a race on one CPU
	// interleaves only at preemption and proves little.
	CPUs    int                `json:"cpus"`
	Threads []RaceThreadResult `json:"threads"`
	Actors  []ActorResult      `json:"actors,omitempty"`
}

// RaceThreadResult is one thread's account.
type RaceThreadResult struct {
	// Rounds counts the rounds the thread completed.
	Rounds int    `json:"rounds"`
	Err    string `json:"err,omitempty"`
	// Appends are the offsets where this thread's appends landed, in the
	// order they ran (an O_APPEND write's position is only known after
	// it: the descriptor's offset minus the bytes written).
	Appends []int64 `json:"appends,omitempty"`
}

// ActorResult is one background actor's account.
type ActorResult struct {
	Kind  ActorKind `json:"kind"`
	Loops int       `json:"loops"`
	Err   string    `json:"err,omitempty"`
}

// The race replay format extends the sequence format: setup ops first, one
// per line, then
//
//	race rounds=N stride=S [seed=X]
//	thread
//	<ops of thread 0>
//	thread
//	<ops of thread 1>
//	actor syncrange
//	actor balloon 48
//
// so a failing race is replayed with the very per-thread lists it ran.

// WriteRace writes setup ops and the race in the replay format.
func WriteRace(w io.Writer, setup []Op, r *Race, comments ...string) error {
	if err := r.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			fmt.Fprintf(bw, "# %s\n", line)
		}
	}
	for _, o := range setup {
		fmt.Fprintln(bw, o.String())
	}
	fmt.Fprint(bw, RaceLines(r))
	return bw.Flush()
}

// RaceLines is the race part of the replay format (after the setup ops).
func RaceLines(r *Race) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "race rounds=%d stride=%#x", r.Rounds, r.Stride)
	if r.DirtyBytes != 0 {
		fmt.Fprintf(&sb, " dirty=%#x", r.DirtyBytes)
	}
	if r.Seed != 0 {
		fmt.Fprintf(&sb, " seed=%d", r.Seed)
	}
	sb.WriteString("\n")
	for _, th := range r.Threads {
		if th.SweepNS > 0 {
			fmt.Fprintf(&sb, "thread sweep=%d\n", th.SweepNS)
			for _, o := range th.Ops {
				sb.WriteString(o.String() + "\n")
			}
			continue
		}
		sb.WriteString("thread\n")
		for _, o := range th.Ops {
			sb.WriteString(o.String() + "\n")
		}
	}
	for _, a := range r.Actors {
		sb.WriteString("actor " + a.String() + "\n")
	}
	return sb.String()
}

// IsRaceFile reports whether a replay file's text holds a race.
func IsRaceFile(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "race" {
			return true
		}
	}
	return false
}

// ReadRace parses the race replay format; an error names the line at
// fault. A file without a race line is an error (use ReadSequence).
func ReadRace(rd io.Reader) ([]Op, *Race, error) {
	var setup []Op
	var r *Race
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		bad := func(format string, args ...any) ([]Op, *Race, error) {
			return nil, nil, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "race":
			if r != nil {
				return bad("a second race line")
			}
			r = &Race{}
			for _, w := range f[1:] {
				k, v, _ := strings.Cut(w, "=")
				n, err := strconv.ParseInt(v, 0, 64)
				if err != nil {
					return bad("race: bad number in %q", w)
				}
				switch k {
				case "rounds":
					r.Rounds = int(n)
				case "stride":
					r.Stride = n
				case "seed":
					r.Seed = n
				case "dirty":
					r.DirtyBytes = n
				default:
					return bad("race: unknown field %q", k)
				}
			}
		case "thread":
			if r == nil {
				return bad("thread before the race line")
			}
			th := RaceThread{}
			for _, w := range f[1:] {
				v, ok := strings.CutPrefix(w, "sweep=")
				n, err := strconv.ParseInt(v, 0, 64)
				if !ok || err != nil || n < 0 {
					return bad("thread: unknown or bad field %q (want sweep=NS)", w)
				}
				th.SweepNS = n
			}
			r.Threads = append(r.Threads, th)
		case "actor":
			if r == nil || len(f) < 2 {
				return bad("actor needs a race line before it and a kind")
			}
			a := Actor{Kind: ActorKind(f[1])}
			if len(f) > 2 {
				n, err := strconv.ParseInt(f[2], 0, 64)
				if err != nil {
					return bad("actor: bad number %q", f[2])
				}
				a.MiB = n
			}
			r.Actors = append(r.Actors, a)
		default:
			o, err := ParseOp(text)
			if err != nil {
				return bad("%v", err)
			}
			switch {
			case r == nil:
				setup = append(setup, o)
			case len(r.Threads) == 0:
				return bad("op after the race line but before any thread")
			default:
				th := &r.Threads[len(r.Threads)-1]
				th.Ops = append(th.Ops, o)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if r == nil {
		return nil, nil, fmt.Errorf("no race line: not a race replay file")
	}
	if err := r.Validate(); err != nil {
		return nil, nil, err
	}
	return setup, r, nil
}
