package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// TestSeriesRecordsCalloutSequence runs the revisions of the series (each
// adds iomap_write_begin/iomap_write_end trace events) on xfs and gfs2 at 4k
// and checks the recorded sequence of a two-folio write: the 300-byte pwrite
// at 0x2f9c straddles the page boundary at 0x3000, so each revision must
// show one begin/end pair per folio, in order, with the right lengths. v3
// must also show gfs2's put_folio after each of gfs2's steps (gfs2 passes
// its iomap_write_ops for every file, v3 0002) and none on xfs.
//
// write_begin's event records the length iomap_write_iter asked for, before
// it clamps to the folio it got (the events follow iomap_write_begin, v1
// 0005 / v2 0004); the end records the clamped length. The request is cut
// at mapping_max_folio_size: one page without large folios (gfs2, and xfs
// on a kernel without THP), 0x64 here; with large folios xfs asks for the
// whole 0x12c, and the first 4k folio takes 0x64 of it.
func TestSeriesRecordsCalloutSequence(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and boots the v1, v2 and v3 kernels")
	}
	bin, root := buildCLI(t)

	begin := regexp.MustCompile(`^iomap_write_begin: dev \d+:\d+ ino 0x[0-9a-f]+ pos (0x[0-9a-f]+) len (0x[0-9a-f]+) status 0 `)
	end := regexp.MustCompile(`^iomap_write_end: dev \d+:\d+ ino 0x[0-9a-f]+ pos (0x[0-9a-f]+) len (0x[0-9a-f]+) copied (0x[0-9a-f]+) `)
	put := regexp.MustCompile(`^iomap_put_folio: dev \d+:\d+ ino 0x[0-9a-f]+ pos (0x[0-9a-f]+) len (0x[0-9a-f]+) copied (0x[0-9a-f]+) .* fn gfs2_iomap_put_folio$`)
	for _, rev := range []string{"v1", "v2", "v3"} {
		t.Run(rev, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			cmd := exec.Command(bin, "run", "--revision", rev, "--fs", "xfs,gfs2", "--bs", "4096",
				"--cases", "straddle-beyond-eof", "--out", dir)
			cmd.Dir = root
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", b)
			data, err := os.ReadFile(filepath.Join(dir, "report.json"))
			require.NoError(t, err)
			var rep runner.Report
			require.NoError(t, json.Unmarshal(data, &rep))
			// The built kernel's .config sits beside its bzImage.
			cfg, err := os.ReadFile(filepath.Join(filepath.Dir(rep.Kernel), "config"))
			require.NoError(t, err)
			thp := regexp.MustCompile(`(?m)^CONFIG_TRANSPARENT_HUGEPAGE=y$`).Match(cfg)
			seen := 0
			for _, v := range rep.Verdicts {
				if v.Case != "straddle-beyond-eof" {
					continue
				}
				seen++
				t.Logf("%s %s callouts:\n  %s", rev, v.Disk, joinLines(v.Trace))
				var got [][]string
				for _, l := range v.Trace {
					if m := begin.FindStringSubmatch(l); m != nil {
						got = append(got, []string{"begin", m[1], m[2]})
					} else if m := end.FindStringSubmatch(l); m != nil {
						got = append(got, []string{"end", m[1], m[2], m[3]})
					} else if m := put.FindStringSubmatch(l); m != nil {
						got = append(got, []string{"put", m[1], m[2], m[3]})
					}
				}
				firstAsked := "0x64"
				if v.FS == "xfs" && thp {
					firstAsked = "0x12c"
				}
				want := [][]string{
					{"begin", "0x2f9c", firstAsked}, {"end", "0x2f9c", "0x64", "0x64"},
					{"begin", "0x3000", "0xc8"}, {"end", "0x3000", "0xc8", "0xc8"},
				}
				if rev == "v3" && v.FS == "gfs2" {
					want = slices.Insert(want, 2, []string{"put", "0x2f9c", "0x64", "0x64"})
					want = append(want, []string{"put", "0x3000", "0xc8", "0xc8"})
				}
				assert.Equal(t, want, got, "%s on %s (THP %v)", rev, v.Disk, thp)
			}
			assert.Equal(t, 2, seen, "xfs-4k and gfs2-4k")
		})
	}
}

func joinLines(ls []string) string {
	s := ""
	for i, l := range ls {
		if i > 0 {
			s += "\n  "
		}
		s += l
	}
	return s
}
