package judge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// The trace events of testdata/traces were recorded from real runs of the
// series (v1 and v2 on xfs and gfs2 at 4k; the run directories' plan.json
// and results.jsonl, cut to a few cases each, lines kept verbatim). They
// hold what lines the tests format themselves cannot: v1's function names
// (iomap_default_write_begin, gfs2_iomap_write_end), v2's unnamed flag bits
// ("BH|0x2000"), v2's gfs2 folio_done, xfs's large folios and unshare steps.
//
// To record them again (after a change to the series' trace output):
//
//	./bin/iomapct run --revision v1 --agent bin/iomapct-agent --fs xfs,gfs2 --bs 4096 --no-races --crash off --out runs/v1
//	./bin/iomapct run --revision v2 --agent bin/iomapct-agent --fs xfs,gfs2 --bs 4096 --no-races --crash off --out runs/v2
//	go test ./judge -run TestRecordedTraces -args -traces-from=$PWD/runs
var tracesFrom = flag.String("traces-from", "", "re-cut testdata/traces from the run directories DIR/v1 and DIR/v2 first")

// traceFixture is one cut: the cases of one disk of one revision's run.
type traceFixture struct {
	rev, disk string
	cases     []string
}

func (f traceFixture) dir() string {
	return filepath.Join("testdata", "traces", f.rev+"-"+f.disk)
}

var traceFixtures = func() []traceFixture {
	xfs := []string{"straddle-beyond-eof", "shortcopy-straddle-eof", "unwritten-straddle",
		"straddle-folio-boundary-large", "zero-range-straddle", "unshare-source-cached"}
	gfs2 := []string{"straddle-beyond-eof", "shortcopy-straddle-eof", "truncate-down-then-write-beyond",
		"gfs2-stuffed-gap-unstuff", "gfs2-jdata-stuffed-unstuff", "gfs2-jdata-partial-writes"}
	var out []traceFixture
	for _, rev := range []string{"v1", "v2"} {
		out = append(out, traceFixture{rev, "xfs-4k", xfs}, traceFixture{rev, "gfs2-4k", gfs2})
	}
	return out
}()

// tracePlanFile is the part of a run's plan.json (runner.PlanFile) that
// judging the callouts needs.
type tracePlanFile struct {
	Plan          *cases.Plan `json:"plan"`
	LargeFolios   bool        `json:"large_folios"`
	KernelVersion string      `json:"kernel_version"`
}

// cutTraces writes f's plan.json (the disk with only f's cases) and
// results.jsonl (the first ready record of the VM that ran the disk, and
// the cases' start and result records, verbatim) from the run directory.
func cutTraces(t *testing.T, run string, f traceFixture) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(run, "plan.json"))
	require.NoError(t, err)
	var pf tracePlanFile
	require.NoError(t, json.Unmarshal(b, &pf))
	cut := &cases.Plan{}
	for _, d := range pf.Plan.Disks {
		if d.Name != f.disk {
			continue
		}
		var files []cases.FilePlan
		for _, fp := range d.Files {
			if slices.Contains(f.cases, fp.Case) {
				files = append(files, fp)
			}
		}
		require.Len(t, files, len(f.cases), "%s: %s has not every case of %v", run, f.disk, f.cases)
		d.Files = files
		cut.Disks = append(cut.Disks, d)
	}
	require.Len(t, cut.Disks, 1, "%s has no disk %s", run, f.disk)
	pf.Plan = cut
	b, err = json.MarshalIndent(pf, "", " ")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(f.dir(), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(f.dir(), "plan.json"), append(b, '\n'), 0o644))

	results, err := filepath.Glob(filepath.Join(run, "vm-*", "results.jsonl"))
	require.NoError(t, err)
	results = append(results, filepath.Join(run, "results.jsonl"))
	var out bytes.Buffer
	for _, p := range results {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		var ready []byte
		var kept [][]byte
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var r proto.Record
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			disk, name, _ := strings.Cut(r.Name, "/")
			switch {
			case r.Type == proto.Ready && ready == nil:
				ready = slices.Clone(sc.Bytes())
			case (r.Type == proto.Start || r.Type == proto.Result) && disk == f.disk && slices.Contains(f.cases, name):
				kept = append(kept, slices.Clone(sc.Bytes()))
			}
		}
		require.NoError(t, sc.Err())
		if len(kept) > 0 {
			out.Write(append(ready, '\n'))
			for _, l := range kept {
				out.Write(append(l, '\n'))
			}
		}
	}
	require.NotZero(t, out.Len(), "%s: no records of %s", run, f.disk)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir(), "results.jsonl"), out.Bytes(), 0o644))
}

// recorded is one fixture read back: the plan of its disk, the guest's
// results by case and the callout check its ready record gives.
type recorded struct {
	disk        cases.DiskPlan
	largeFolios bool
	results     map[string]cases.Result
	cc          CalloutCheck
}

func readTraces(t *testing.T, f traceFixture) recorded {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir(), "plan.json"))
	require.NoError(t, err)
	var pf tracePlanFile
	require.NoError(t, json.Unmarshal(b, &pf))
	require.Len(t, pf.Plan.Disks, 1)
	rf, err := os.Open(filepath.Join(f.dir(), "results.jsonl"))
	require.NoError(t, err)
	defer rf.Close()
	s, err := proto.Read(rf, nil)
	require.NoError(t, err)
	var events []string
	for _, r := range s.Records {
		if r.Type == proto.Ready {
			require.NoError(t, json.Unmarshal(r.Data, &events))
		}
	}
	g := readRecords(s.Records)
	require.Empty(t, g.bad, "every recorded line decodes")
	rec := recorded{disk: pf.Plan.Disks[0], largeFolios: pf.LargeFolios, results: map[string]cases.Result{}, cc: NewCalloutCheck(events)}
	for _, fp := range rec.disk.Files {
		res, ok := g.cases[rec.disk.Name+"/"+fp.Case]
		require.True(t, ok, "%s: no result for %s", f.dir(), fp.Case)
		rec.results[fp.Case] = res
	}
	return rec
}

// calloutVerdict runs the callout check on one recorded case as Judge does
// (the model set from the case's ops and what they returned).
func (rec recorded) calloutVerdict(t *testing.T, name string, res cases.Result) Verdict {
	t.Helper()
	i := slices.IndexFunc(rec.disk.Files, func(fp cases.FilePlan) bool { return fp.Case == name })
	require.GreaterOrEqual(t, i, 0, "no case %s", name)
	fp := rec.disk.Files[i]
	tg := Target{FS: rec.disk.FS, BlockSize: rec.disk.BlockSize}
	s, err := reference.RunSetObserved(Geometry(tg, rec.largeFolios), fp.Ops, res.Returned)
	require.NoError(t, err)
	v := Verdict{Case: name, Disk: rec.disk.Name, FS: rec.disk.FS, Status: Pass}
	judgeCallouts(&v, s, fp, res, rec.cc)
	return v
}

func TestRecordedTraces(t *testing.T) {
	if *tracesFrom != "" {
		for _, f := range traceFixtures {
			cutTraces(t, filepath.Join(*tracesFrom, f.rev), f)
		}
	}
	for _, f := range traceFixtures {
		t.Run(f.rev+"/"+f.disk, func(t *testing.T) {
			rec := readTraces(t, f)
			assert.True(t, rec.cc.Applies, "%s exports begin and end: %s", f.rev, rec.cc.Note)
			assert.Equal(t, f.rev == "v2", slices.Contains(rec.cc.Events, evFolioDone), "only v2 has folio_done")
			require.Len(t, rec.results, len(f.cases))
			for _, name := range f.cases {
				res := rec.results[name]
				// Every recorded line parses, one callout per begin.
				for i := 0; i < 1+len(res.Files); i++ {
					tr := fileTrace(res, i)
					require.NotEmpty(t, tr, "%s file %d recorded no events", name, i)
					rest, unshare, err := splitUnshare(tr)
					require.NoError(t, err, "%s file %d", name, i)
					got, err := parseTrace(rest)
					require.NoError(t, err, "%s file %d", name, i)
					begins := 0
					for _, l := range tr {
						if strings.HasPrefix(l, evBegin+":") {
							begins++
						}
					}
					assert.Equal(t, begins, len(got)+len(unshare), "%s file %d: a callout per write_begin", name, i)
				}
				v := rec.calloutVerdict(t, name, res)
				assert.Equal(t, Pass, v.Status, "%s: %v", name, v.Failures)
			}
		})
	}
}

// What the parser makes of the recorded lines that synthetic ones lack.
func TestRecordedTracesParseAsRecorded(t *testing.T) {
	for _, tc := range []struct {
		rev, disk, name string
		file, step      int
		unshare         bool // step counts the file's unshare steps
		want            string
	}{
		// v1 names its callouts iomap_default_write_begin/_end.
		{"v1", "xfs-4k", "straddle-beyond-eof", 0, 1, false, "write pos=0x3000 len=0xc8 copied=0xc8 written=0xc8 map=DELALLOC flags=NEW"},
		// v2 prints gfs2's private iomap flag as a bare 0x2000.
		{"v2", "gfs2-4k", "gfs2-jdata-stuffed-unstuff", 0, 0, false, "write pos=0x0 len=0xf18 copied=0xf18 written=0xf18 map=INLINE flags=BH"},
		// v2's folio_done after a jdata step that is not inline.
		{"v2", "gfs2-4k", "gfs2-jdata-stuffed-unstuff", 0, 1, false, "write pos=0xf18 len=0x5 copied=0x5 written=0x5 map=MAPPED flags=MERGED|BH +folio_done"},
		// The zeroing of the old EOF block's tail by a truncate down.
		{"v1", "gfs2-4k", "truncate-down-then-write-beyond", 0, 3, false, "zero pos=0x800 len=0x800 copied=0x800 written=0x800 map=MAPPED flags=MERGED"},
		// An unshare step (op WRITE|UNSHARE) of a reflinked file.
		{"v2", "xfs-4k", "unshare-source-cached", 0, 1, true, "unshare pos=0x4000 len=0xa copied=0xa written=0xa map=DELALLOC flags=NEW"},
		// The second file of a case.
		{"v2", "xfs-4k", "unshare-source-cached", 1, 0, false, "write pos=0x1001 len=0x2 copied=0x2 written=0x2 map=MAPPED"},
	} {
		rec := readTraces(t, traceFixture{rev: tc.rev, disk: tc.disk})
		rest, unshare, err := splitUnshare(fileTrace(rec.results[tc.name], tc.file))
		require.NoError(t, err)
		got := unshare
		if !tc.unshare {
			got, err = parseTrace(rest)
			require.NoError(t, err)
		}
		require.Greater(t, len(got), tc.step, "%s/%s %s", tc.rev, tc.disk, tc.name)
		assert.Equal(t, tc.want, got[tc.step].String(), "%s/%s %s step %d", tc.rev, tc.disk, tc.name, tc.step)
	}
}

// A recorded trace edited to break the model's expectation fails the
// callout check with a message naming the difference.
func TestRecordedTracesEditedFail(t *testing.T) {
	for _, tc := range []struct {
		rev, disk, name string
		file, line      int
		old, new        string // in the line; new "" with old "" deletes it
		want            string
	}{
		// A folio that took fewer bytes (xfs's steps are coalesced: its
		// mapping edges are not predicted).
		{"v1", "xfs-4k", "straddle-beyond-eof", 0, 3, "copied 0xc8 written 0xc8", "copied 0xc0 written 0xc0",
			"callout 0 of op 0 (pwrite 0x2f9c 0x12c) (0 of the case) differs in len: kernel 0x124, model 0x12c; copied: kernel 0x124, model 0x12c; written: kernel 0x124, model 0x12c; " +
				"the model's step: write pos=0x2f9c len=0x12c copied=0x12c written=0x12c map=(not compared)"},
		// An end with no begin (the first begin deleted): the trace cannot
		// be read.
		{"v1", "xfs-4k", "straddle-beyond-eof", 0, 0, "", "",
			"cannot read the recorded trace: trace line 0: write_end at pos 0x2f9c without a write_begin there"},
		// v2's folio_done missing after a jdata step.
		{"v2", "gfs2-4k", "gfs2-jdata-stuffed-unstuff", 0, 4, "", "",
			"callout 0 of op 2 (pwrite 0xf18 0x5) (1 of the case) differs in folio_done/put_folio after it: kernel no, model yes; " +
				"the model's step: write pos=0xf18 len=0x5 copied=0x5 written=0x5 map=MAPPED flags=MERGED|BH +folio_done"},
		// A zeroing step over a mapping of another type (gfs2's mappings
		// are predicted).
		{"v1", "gfs2-4k", "truncate-down-then-write-beyond", 0, 7, "type MAPPED srctype MAPPED", "type UNWRITTEN srctype UNWRITTEN",
			"callout 0 of op 2 (truncate 0x800) (1 of the case) differs in map: kernel UNWRITTEN, model MAPPED; " +
				"the model's step: zero pos=0x800 len=0x800 copied=0x800 written=0x800 map=MAPPED flags=MERGED"},
		// An unshare step that copied short.
		{"v2", "xfs-4k", "unshare-source-cached", 0, 7, "copied 0xa written 0xa", "copied 0x5 written 0x5",
			"unshare step unshare pos=0x4000 len=0xa copied=0x5 written=0x5 map=DELALLOC flags=NEW: iomap_unshare_iter copies and keeps every byte of a step"},
		// The second file's write took one byte of two.
		{"v2", "xfs-4k", "unshare-source-cached", 1, 1, "copied 0x2 written 0x2", "copied 0x1 written 0x1",
			"file 1 (unshare-source-cached.1): callout 0 of op 3 (pwrite f=1 0x1001 0x2) (0 of the case) differs in len: kernel 0x1, model 0x2; copied: kernel 0x1, model 0x2; written: kernel 0x1, model 0x2; " +
				"the model's step: write pos=0x1001 len=0x2 copied=0x2 written=0x2 map=(not compared)"},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s:%d", tc.rev, tc.disk, tc.name, tc.line), func(t *testing.T) {
			rec := readTraces(t, traceFixture{rev: tc.rev, disk: tc.disk})
			res := rec.results[tc.name]
			tr := slices.Clone(fileTrace(res, tc.file))
			require.Greater(t, len(tr), tc.line)
			if tc.old == "" && tc.new == "" {
				tr = slices.Delete(tr, tc.line, tc.line+1)
			} else {
				require.Contains(t, tr[tc.line], tc.old, "the edit applies")
				tr[tc.line] = strings.Replace(tr[tc.line], tc.old, tc.new, 1)
			}
			if tc.file == 0 {
				res.Trace = tr
			} else {
				res.Files = slices.Clone(res.Files)
				k := slices.IndexFunc(res.Files, func(f cases.FileResult) bool { return f.Index == tc.file })
				require.GreaterOrEqual(t, k, 0)
				res.Files[k].Trace = tr
			}
			v := rec.calloutVerdict(t, tc.name, res)
			require.Equal(t, Fail, v.Status)
			require.Len(t, v.Failures, 1)
			assert.Equal(t, Check(CheckCallouts), v.Failures[0].Check)
			assert.Equal(t, tc.want, v.Failures[0].Msg)
		})
	}
}
