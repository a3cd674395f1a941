//go:build linux

package execute

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
)

// Race runs a concurrent case: the setup ops alone (as File does), then the
// race's rounds, every thread on its own OS thread and descriptor, all
// released together at the start of each round by a spinning barrier, with
// the actors looping in the background until the last round is over.
func Race(env Env, path string, setup []cases.Op, r *cases.Race) cases.Result {
	res := File(env, path, setup)
	if res.Err != "" {
		return res
	}
	if err := r.Validate(); err != nil {
		res.Err = err.Error()
		return res
	}
	rr := &cases.RaceResult{CPUs: runtime.NumCPU(), Threads: make([]cases.RaceThreadResult, len(r.Threads)), Actors: make([]cases.ActorResult, len(r.Actors))}
	res.Race = rr

	if r.DirtyBytes > 0 {
		restore, err := dirtyLimit(r.DirtyBytes)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		defer restore()
	}
	// The threads start once every actor is under way (the balloon has
	// taken its memory), so the first rounds race against them too.
	var stop atomic.Bool
	done := make(chan struct{}) // closed with stop, for actors that block
	var actors, ready sync.WaitGroup
	for i, a := range r.Actors {
		actors.Add(1)
		ready.Add(1)
		go func() {
			defer actors.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			rr.Actors[i] = actor(path, a, &stop, done, ready.Done)
		}()
	}
	ready.Wait()

	b := newBarrier(len(r.Threads))
	var threads sync.WaitGroup
	for t, th := range r.Threads {
		threads.Add(1)
		go func() {
			defer threads.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			rr.Threads[t] = thread(path, t, th, r, b)
		}()
	}
	threads.Wait()
	stop.Store(true)
	close(done)
	actors.Wait()

	var errs []string
	for t, tr := range rr.Threads {
		if tr.Err != "" {
			errs = append(errs, fmt.Sprintf("race thread %d: %s", t, tr.Err))
		}
	}
	for i, ar := range rr.Actors {
		if ar.Err != "" {
			errs = append(errs, fmt.Sprintf("race actor %d (%s): %s", i, ar.Kind, ar.Err))
		}
	}
	res.Err = strings.Join(errs, "; ")
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		res.Ino, res.Size = st.Ino, st.Size
	}
	return res
}

// barrier releases n threads together: the last to arrive bumps the
// generation the others spin on. Spinning (yielding the CPU between
// looks) rather than sleeping on a futex, so the released threads start
// within a scheduler tick of each other even under TCG.
type barrier struct {
	n       int32
	arrived atomic.Int32
	gen     atomic.Int32
}

func newBarrier(n int) *barrier { return &barrier{n: int32(n)} }

func (b *barrier) wait(round int) {
	if b.arrived.Add(1) == b.n*int32(round+1) {
		b.gen.Store(int32(round + 1))
		return
	}
	for b.gen.Load() <= int32(round) {
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// thread runs one thread's ops in every round. A thread whose op failed
// keeps arriving at the barriers (the others would wait for it forever)
// but runs no more ops.
func thread(path string, t int, th cases.RaceThread, r *cases.Race, b *barrier) cases.RaceThreadResult {
	var tr cases.RaceThreadResult
	fd, err := unix.Open(path, unix.O_RDWR, 0)
	if err != nil {
		tr.Err = fmt.Sprintf("open: %v", err)
	}
	// A race's threads act on the case's one file: the op runner's view
	// of the files holds just that one.
	single := &files{order: []int{0}, paths: map[int]string{0: path}, fds: map[int]int{}}
	afd := -1
	for _, o := range th.Ops {
		if o.Kind == cases.Append && afd < 0 && err == nil {
			if afd, err = unix.Open(path, unix.O_WRONLY|unix.O_APPEND, 0); err != nil {
				tr.Err = fmt.Sprintf("open O_APPEND: %v", err)
			}
		}
	}
	// Appends fill from offset 0: where they land is known only after.
	bufs := make([][]byte, len(th.Ops))
	for j, o := range th.Ops {
		if o.Kind == cases.Append {
			bufs[j] = cases.Data(cases.RaceIndex(t, j), 0, int(o.Len))
		}
	}
	for k := 0; k < r.Rounds; k++ {
		b.wait(k)
		if tr.Err != "" {
			continue
		}
		if d := time.Duration(th.Sweep(k)); d > 0 {
			for start := time.Now(); time.Since(start) < d; {
			}
		}
		for j, o := range th.Ops {
			o = cases.Shifted(o, int64(k)*r.Stride)
			if o.Kind == cases.Append {
				n, err := unix.Write(afd, bufs[j])
				if err == nil && int64(n) != o.Len {
					err = fmt.Errorf("short append: %d of %d bytes", n, o.Len)
				}
				pos, serr := unix.Seek(afd, 0, 1)
				if err == nil {
					err = serr
				}
				if err != nil {
					tr.Err = fmt.Sprintf("round %d op %d (%s): %v", k, j, o, err)
					break
				}
				tr.Appends = append(tr.Appends, pos-int64(n))
				continue
			}
			if _, err := one(Env{}, single, path, &fd, cases.RaceIndex(t, j), o); err != nil {
				tr.Err = fmt.Sprintf("round %d op %d (%s): %v", k, j, o, err)
				break
			}
		}
		if tr.Err == "" {
			tr.Rounds = k + 1
		}
	}
	if fd >= 0 {
		unix.Close(fd)
	}
	if afd >= 0 {
		unix.Close(afd)
	}
	return tr
}

// actor loops one background actor until stop, at least once.
func actor(path string, a cases.Actor, stop *atomic.Bool, done <-chan struct{}, ready func()) cases.ActorResult {
	if a.Kind == cases.Balloon {
		return balloon(a, done, ready)
	}
	ar := cases.ActorResult{Kind: a.Kind}
	fd, err := unix.Open(path, unix.O_RDWR, 0)
	ready()
	if err != nil {
		ar.Err = err.Error()
		return ar
	}
	defer unix.Close(fd)
	for first := true; first || !stop.Load(); first = false {
		switch a.Kind {
		case cases.SyncRange:
			flags := unix.SYNC_FILE_RANGE_WRITE
			if ar.Loops%4 == 3 {
				flags |= unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WAIT_AFTER
			}
			err = unix.SyncFileRange(fd, 0, 0, flags)
		case cases.DataSync:
			err = unix.Fdatasync(fd)
		case cases.FadviseDrop:
			err = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		case cases.DropCache:
			err = os.WriteFile("/proc/sys/vm/drop_caches", []byte("1\n"), 0)
		default:
			err = fmt.Errorf("actor kind %q not implemented in the guest", a.Kind)
		}
		if err != nil {
			ar.Err = err.Error()
			return ar
		}
		ar.Loops++
	}
	return ar
}

// balloon takes all of MemAvailable but the headroom as anonymous memory,
// touches every page once and holds it until the race is over: with no
// swap, reclaim can only take page-cache folios, so the file's are written
// back and freed while the threads write. (Touching it again in a loop
// adds nothing but CPU time: anonymous memory stays put.) The headroom
// keeps the agent (PID 1, which the OOM killer will not kill: the kernel
// would panic) alive.
func balloon(a cases.Actor, done <-chan struct{}, ready func()) cases.ActorResult {
	ar := cases.ActorResult{Kind: a.Kind}
	readied := false
	defer func() {
		if !readied {
			ready()
		}
	}()
	avail, err := memAvailable()
	if err != nil {
		ar.Err = err.Error()
		return ar
	}
	size := avail - a.MiB<<20
	page := int64(os.Getpagesize())
	if size < 16*page {
		ar.Loops = 1 // nothing to take: the machine is already tight
		return ar
	}
	m, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		ar.Err = err.Error()
		return ar
	}
	defer unix.Munmap(m)
	for i := int64(0); i < size; i += page {
		m[i] = 1
	}
	ready()
	readied = true
	<-done
	ar.Loops = 1
	return ar
}

func memAvailable() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fs[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/meminfo: no MemAvailable")
}

// dirtyLimit sets vm.dirty_bytes and vm.dirty_background_bytes (half) and
// returns what puts the ratios back (writing a ratio clears its bytes).
func dirtyLimit(n int64) (func(), error) {
	const vm = "/proc/sys/vm/"
	ratio, err := os.ReadFile(vm + "dirty_ratio")
	if err != nil {
		return nil, err
	}
	bgRatio, err := os.ReadFile(vm + "dirty_background_ratio")
	if err != nil {
		return nil, err
	}
	restore := func() {
		os.WriteFile(vm+"dirty_background_ratio", bgRatio, 0)
		os.WriteFile(vm+"dirty_ratio", ratio, 0)
	}
	if err := os.WriteFile(vm+"dirty_bytes", []byte(strconv.FormatInt(n, 10)), 0); err != nil {
		return nil, fmt.Errorf("vm.dirty_bytes=%d: %w", n, err)
	}
	if err := os.WriteFile(vm+"dirty_background_bytes", []byte(strconv.FormatInt(n/2, 10)), 0); err != nil {
		restore()
		return nil, fmt.Errorf("vm.dirty_background_bytes=%d: %w", n/2, err)
	}
	return restore, nil
}
