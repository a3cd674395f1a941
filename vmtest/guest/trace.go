//go:build linux

package guest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const tracefs = "/sys/kernel/tracing"

// Tracer records trace events of one subsystem around each case, so a run
// can show the callout sequence a patched kernel exports (the series under
// test adds iomap_write_begin/iomap_write_end events).
type Tracer struct {
	events []string
}

// EnableTrace turns on the named events of a subsystem that this kernel
// has; an unpatched kernel simply has none of them, and the tracer stays
// empty.
func EnableTrace(subsystem string, names ...string) *Tracer {
	t := &Tracer{}
	for _, n := range names {
		p := filepath.Join(tracefs, "events", subsystem, n, "enable")
		if err := os.WriteFile(p, []byte("1"), 0); err == nil {
			t.events = append(t.events, n)
		}
	}
	if len(t.events) > 0 {
		os.WriteFile(filepath.Join(tracefs, "buffer_size_kb"), []byte("8192"), 0)
	}
	return t
}

// Events lists the events that are on.
func (t *Tracer) Events() []string { return t.events }

// Reset empties the trace buffer.
func (t *Tracer) Reset() {
	if len(t.events) > 0 {
		os.WriteFile(filepath.Join(tracefs, "trace"), nil, 0)
	}
}

// Lines returns the recorded events whose text contains match (e.g. the
// inode's "ino 0x1c "), stripped of the task/CPU/timestamp columns.
func (t *Tracer) Lines(match string) ([]string, error) {
	if len(t.events) == 0 {
		return nil, nil
	}
	f, err := os.Open(filepath.Join(tracefs, "trace"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.Contains(line, match) {
			continue
		}
		for _, ev := range t.events {
			if i := strings.Index(line, " "+ev+": "); i >= 0 {
				out = append(out, line[i+1:])
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read trace: %w", err)
	}
	return out, nil
}
