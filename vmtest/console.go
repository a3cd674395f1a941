package vmtest

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// console writes QEMU's output (the serial console on stdout, QEMU's own
// messages on stderr) into one log, each line prefixed with the seconds
// since the VM started, so the log says when each line came without
// trusting the guest.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	// qemu keeps QEMU's own stderr lines (few: warnings, and the
	// "terminating on signal" notice) for error messages.
	qemu []string
}

func newConsole(w io.Writer, start time.Time) *console { return &console{w: w, start: start} }

// failed returns the first error writing the log, if w keeps one (a
// stickyWriter: a full disk must not stop the copying of QEMU's output).
func (c *console) failed() error {
	if s, ok := c.w.(*stickyWriter); ok {
		return s.failed()
	}
	return nil
}

// stream returns a writer for one of QEMU's outputs; exec copies into it.
func (c *console) stream(fromQEMU bool) io.Writer { return &lineWriter{c: c, qemu: fromQEMU} }

// qemuLines returns QEMU's own stderr lines so far.
func (c *console) qemuLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.qemu...)
}

func (c *console) line(s string, fromQEMU bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, "[%8.3f] %s\n", time.Since(c.start).Seconds(), s)
	if fromQEMU && len(c.qemu) < 100 {
		c.qemu = append(c.qemu, s)
	}
}

// lineWriter splits one output into lines; a torn last line is flushed by
// close.
type lineWriter struct {
	c    *console
	qemu bool
	buf  []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.c.line(strings.TrimRight(string(l.buf[:i]), "\r"), l.qemu)
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineWriter) close() {
	if len(l.buf) > 0 {
		l.c.line(strings.TrimRight(string(l.buf), "\r"), l.qemu)
		l.buf = nil
	}
}
