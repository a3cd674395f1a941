package cases_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

func TestSequenceRoundTrip(t *testing.T) {
	for _, fs := range allFS {
		ops := cases.Random(42, 250, 1024, fs)
		var buf bytes.Buffer
		require.NoError(t, cases.WriteSequence(&buf, ops, cases.SequenceHeader(42, fs, 1024), "second\ncomment"))
		text := buf.String()
		assert.True(t, strings.HasPrefix(text, "# iomapct random sequence seed=42 fs="+fs+" bs=1024\n# second\n# comment\n"), text[:80])
		back, err := cases.ReadSequence(&buf)
		require.NoError(t, err)
		if d := cmp.Diff(ops, back); d != "" {
			t.Fatalf("%s: replay differs (-written +read):\n%s", fs, d)
		}
	}
}

func TestReadSequenceSkipsCommentsAndBlankLines(t *testing.T) {
	in := "# header\n\npwrite 0x10 0x20\n   # indented comment\ntruncate 0x5\nwritev 0x0 0x3 segs=0x1,0x2\nshortcopy 0x0 0x10 copied=0x4\nfallocate 0x0 0x1000 keep_size\nfsync\n"
	ops, err := cases.ReadSequence(strings.NewReader(in))
	require.NoError(t, err)
	want := []cases.Op{
		{Kind: cases.PWrite, Off: 16, Len: 32},
		{Kind: cases.Truncate, Off: 5},
		{Kind: cases.Writev, Off: 0, Len: 3, Segs: []int64{1, 2}},
		{Kind: cases.ShortCopy, Off: 0, Len: 16, Copied: 4},
		{Kind: cases.Fallocate, Off: 0, Len: 4096, KeepSize: true},
		{Kind: cases.Fsync},
	}
	if d := cmp.Diff(want, ops); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestReadSequenceErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# h\npwrite 0 1\nfrobnicate 1 2\n", "line 3: unknown op \"frobnicate\""},
		{"pwrite 0 1\n\npwrite 0x\n", "line 3: op \"pwrite 0x\""},
		{"truncate 1 2\n", "line 1: op \"truncate 1 2\": want 1 numbers, got 2"},
		{"fsync\nwritev 0 4 segs=1,2\n", "line 2: op writev"},
		{"shortcopy 0 4 copied=4\n", "line 1: op shortcopy"},
	} {
		_, err := cases.ReadSequence(strings.NewReader(tc.in))
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
	}
}

func TestWriteSequenceRefusesInvalidOps(t *testing.T) {
	var buf bytes.Buffer
	err := cases.WriteSequence(&buf, []cases.Op{{Kind: cases.Writev, Off: 0, Len: 5, Segs: []int64{1}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "iovec lengths add up to 1, not len 5")
}
