//go:build linux

package guest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

const tracefs = "/sys/kernel/tracing"

// Tracer records trace events of one subsystem around each case, so a run
// can show the callout sequence a patched kernel exports (the series under
// test adds iomap_write_begin/iomap_write_end events).
//
// It reads trace_pipe, not trace: a consuming read leaves the buffer empty
// for the next case, and opening "trace" (tracing_open) waits for an RCU
// grace period per CPU buffer, as does clearing it by a write, which under
// TCG cost about as much as the cases themselves (BENCHMARKS.md).
type Tracer struct {
	events []string
	pipe   int    // trace_pipe, opened O_NONBLOCK; -1 if there is none
	buf    []byte // read buffer for pipe, kept across cases
}

// EnableTrace turns on the named events of a subsystem that this kernel
// has; an unpatched kernel simply has none of them, and the tracer stays
// empty.
func EnableTrace(subsystem string, names ...string) *Tracer {
	t := &Tracer{pipe: -1}
	for _, n := range names {
		p := filepath.Join(tracefs, "events", subsystem, n, "enable")
		if err := os.WriteFile(p, []byte("1"), 0); err == nil {
			t.events = append(t.events, n)
		}
	}
	if len(t.events) > 0 {
		os.WriteFile(filepath.Join(tracefs, "buffer_size_kb"), []byte("8192"), 0)
		// A raw fd, not an *os.File: Go would park a read of an empty
		// O_NONBLOCK pipe in its poller; EAGAIN is how "empty" is told.
		if fd, err := unix.Open(filepath.Join(tracefs, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
			t.pipe = fd
		}
	}
	return t
}

// Events lists the events that are on.
func (t *Tracer) Events() []string { return t.events }

// Reset empties the trace buffer.
func (t *Tracer) Reset() {
	if len(t.events) == 0 {
		return
	}
	if t.pipe >= 0 {
		t.drain(io.Discard)
		return
	}
	os.WriteFile(filepath.Join(tracefs, "trace"), nil, 0)
}

// drain copies what trace_pipe holds to w, until the pipe is empty.
func (t *Tracer) drain(w io.Writer) error {
	if t.buf == nil {
		t.buf = make([]byte, 64<<10)
	}
	for {
		n, err := unix.Read(t.pipe, t.buf)
		if n > 0 {
			w.Write(t.buf[:n])
		}
		switch {
		case err == unix.EAGAIN || err == nil && n == 0:
			return nil
		case err == unix.EINTR:
		case err != nil:
			return fmt.Errorf("read trace_pipe: %w", err)
		}
	}
}

// Lines returns the recorded events whose text contains match (e.g. the
// inode's "ino 0x1c "), stripped of the task/CPU/timestamp columns.
func (t *Tracer) Lines(match string) ([]string, error) {
	if len(t.events) == 0 {
		return nil, nil
	}
	if t.pipe >= 0 {
		var b bytes.Buffer
		if err := t.drain(&b); err != nil {
			return nil, err
		}
		return traceLines(&b, match, t.events)
	}
	f, err := os.Open(filepath.Join(tracefs, "trace"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return traceLines(f, match, t.events)
}

// ErrTraceLost says the ring buffer overwrote events of the case (ftrace
// prints "CPU:N [LOST M EVENTS]" where it did): the sequence read back has
// holes, and comparing it would report callouts the kernel did make as
// missing.
var ErrTraceLost = errors.New("the trace ring buffer dropped events (buffer_size_kb too small for this case)")

var lostLine = regexp.MustCompile(`^CPU:\d+ \[LOST( \d+)? EVENTS\]`)

func traceLines(r io.Reader, match string, events []string) ([]string, error) {
	var out []string
	lost := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if lostLine.MatchString(line) {
			lost = true
			continue
		}
		if strings.HasPrefix(line, "#") || !strings.Contains(line, match) {
			continue
		}
		for _, ev := range events {
			if i := strings.Index(line, " "+ev+": "); i >= 0 {
				out = append(out, line[i+1:])
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read trace: %w", err)
	}
	if lost {
		return out, ErrTraceLost
	}
	return out, nil
}
