//go:build linux

package guest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/vmtest/proto"
)

// GcovRoot is where a CONFIG_GCOV_KERNEL kernel exposes its counters.
const GcovRoot = "/sys/kernel/debug/gcov"

// Gcov sends a coverage kernel's counters (see proto.Gcov). A nil *Gcov
// (a kernel without gcov) sends nothing, so callers need not ask.
type Gcov struct {
	root  string
	paths []string          // the .gcda files, found once: built-in objects never come or go
	last  map[string][]byte // path -> bytes last sent
	// zw is reused: a new flate compressor allocates about a megabyte,
	// which per file and step is garbage the guest's GC must chase.
	zw *gzip.Writer
}

// OpenGcov mounts debugfs if needed and returns nil when the kernel has no
// gcov directory (every kernel but a coverage build).
func OpenGcov() *Gcov {
	if _, err := os.Stat(GcovRoot); err != nil {
		os.MkdirAll("/sys/kernel/debug", 0o755)
		if err := unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return nil
		}
	}
	if _, err := os.Stat(GcovRoot); err != nil {
		return nil
	}
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return &Gcov{root: GcovRoot, last: map[string][]byte{}, zw: zw}
}

// Changed reads every .gcda file and returns those whose bytes differ from
// what the previous call returned. Each read is a consistent copy: the
// kernel copies the counters when the file is opened (kernel/gcov/fs.c).
func (g *Gcov) Changed() (proto.GcovFiles, error) {
	var out proto.GcovFiles
	if g.paths == nil {
		err := filepath.WalkDir(g.root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".gcda") {
				g.paths = append(g.paths, p)
			}
			return err
		})
		if err != nil {
			g.paths = nil
			return out, err
		}
		sort.Strings(g.paths)
	}
	for _, p := range g.paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return out, err
		}
		if bytes.Equal(b, g.last[p]) {
			continue
		}
		var gz bytes.Buffer
		g.zw.Reset(&gz)
		g.zw.Write(b)
		if err := g.zw.Close(); err != nil {
			return out, err
		}
		g.last[p] = b
		out.Files = append(out.Files, proto.GcovFile{Path: strings.TrimPrefix(p, g.root), Gz: gz.Bytes()})
	}
	return out, nil
}

// Send emits the changed counters as a Gcov record named step; nothing
// when g is nil or nothing changed.
func (g *Gcov) Send(em *proto.Emitter, step string) {
	if g == nil {
		return
	}
	files, err := g.Changed()
	if err != nil || len(files.Files) > 0 {
		em.Emit(proto.Gcov, step, files, err)
	}
}
