package coverage

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iomapct/iomapct/vmtest/proto"
)

// Snapshot is one object's cumulative counters after a step.
type Snapshot struct {
	// Step is the guest's step: "<disk>/mount", "<disk>/<case>",
	// "<disk>/umount".
	Step string
	// Index orders the steps of one guest (the record's place in its
	// stream).
	Index int
	Gcda  []byte
}

// Stream is what one guest (one VM) sent: per object stem, its snapshots
// in the order the guest took them. Counters only grow, so the last is
// the guest's total.
type Stream map[string][]Snapshot

// ReadStream reads a VM's results.jsonl and keeps its Gcov records,
// mapping each file to the instrumented object whose .gcda it is.
func ReadStream(path string, stems []string) (Stream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseStream(f, stems)
}

// ParseStream is ReadStream on an open stream.
func ParseStream(r io.Reader, stems []string) (Stream, error) {
	s := Stream{}
	var ferr error
	idx := 0
	_, err := proto.Read(r, func(rec proto.Record) {
		if rec.Type != proto.Gcov || ferr != nil {
			return
		}
		idx++
		if rec.Error != "" {
			ferr = fmt.Errorf("guest could not read its gcov counters after %s: %s", rec.Name, rec.Error)
			return
		}
		var files proto.GcovFiles
		if err := rec.Decode(&files); err != nil {
			ferr = fmt.Errorf("gcov record %s: %w", rec.Name, err)
			return
		}
		for _, gf := range files.Files {
			stem := stemOf(gf.Path, stems)
			if stem == "" {
				continue // an object the report was not asked about
			}
			zr, err := gzip.NewReader(bytes.NewReader(gf.Gz))
			if err != nil {
				ferr = fmt.Errorf("gcov record %s, %s: %w", rec.Name, gf.Path, err)
				return
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				ferr = fmt.Errorf("gcov record %s, %s: %w", rec.Name, gf.Path, err)
				return
			}
			s[stem] = append(s[stem], Snapshot{Step: rec.Name, Index: idx, Gcda: b})
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return s, err
}

// stemOf maps a guest path (/root/.cache/.../build/fs/iomap/buffered-io.gcda)
// to its object stem: the longest stem the path ends with.
func stemOf(path string, stems []string) string {
	p := strings.TrimSuffix(path, ".gcda")
	best := ""
	for _, s := range stems {
		if (p == s || strings.HasSuffix(p, "/"+s)) && len(s) > len(best) {
			best = s
		}
	}
	return best
}
