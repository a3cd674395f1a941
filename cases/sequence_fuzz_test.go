package cases_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iomapct/iomapct/cases"
)

// FuzzReadSequence: any text either fails to parse with a line number, or
// parses to ops that write back and re-read to the same ops.
func FuzzReadSequence(f *testing.F) {
	f.Add("# h\npwrite 0x10 0x20\ntruncate 5\n")
	f.Add("writev 0 3 segs=1,2\nshortcopy 0 16 copied=4\nzero 0 4096 keep_size\n")
	f.Add("dwrite 0x1000 0x1000\nfsync\nchattr+j\n")
	f.Add("append 0x7\n\n   # c\nremount\n")
	// From the issue: an empty file, a length that wraps past the
	// largest offset, an offset at it.
	f.Add("")
	f.Add("pwrite 0x10 0x7ffffffffffffff8\n")
	f.Add("pwrite 0x7fffffffffffffff 0x10\n")
	f.Add("writev 0 0x10 segs=0x7fffffffffffffff,0x7fffffffffffffff,0x12\n")
	f.Fuzz(func(t *testing.T, text string) {
		ops, err := cases.ReadSequence(strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := cases.WriteSequence(&buf, ops); err != nil {
			t.Fatalf("parsed ops do not write back: %v", err)
		}
		again, err := cases.ReadSequence(&buf)
		if err != nil {
			t.Fatalf("written ops do not parse: %v\n%s", err, buf.String())
		}
		if d := cmp.Diff(ops, again, cmp.Comparer(func(a, b []int64) bool { return cmp.Equal(a, b) || len(a)+len(b) == 0 })); d != "" {
			t.Fatalf("round trip changed the ops:\n%s", d)
		}
	})
}
