package judge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
	"github.com/iomapct/iomapct/vmtest/crash"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// OpenImage opens an image with the host reader for fs (the registry's).
func OpenImage(fs string, f *os.File) (ondisk.Reader, error) {
	return filesystems.Open(fs, f)
}

// Config is what judging needs to know of a run besides its plan, the
// guest's records and the callout check.
type Config struct {
	// Out is the run directory; the images are under Out/images
	// (ImagePath).
	Out string
	// Revision names the series revision in the verdicts.
	Revision string
	// LargeFolios: the kernel gives page-cache mappings large folios (read
	// from its .config; the model's folio geometry depends on it).
	LargeFolios bool
	// CorruptExpected and CorruptExpectedLast are the test hooks of
	// runner.Options: each flips one expected byte per case.
	CorruptExpected, CorruptExpectedLast bool
}

// Judge turns the guest's results (the records of every VM of the run)
// and the images into verdicts; cc says whether the callout sequences are
// compared.
func Judge(ctx context.Context, o Config, plan *cases.Plan, records []proto.Record, cc CalloutCheck) []Verdict {
	g := readRecords(records)
	results, unmounted := g.cases, g.unmounted
	started, took := CaseTimes(records)
	var vs []Verdict
	for _, d := range plan.Disks {
		t := Target{FS: d.FS, BlockSize: d.BlockSize}
		dr, clean := unmounted[d.Name]
		var rd ondisk.Reader
		var openErr error
		img, err := os.Open(ImagePath(o.Out, d.Name))
		if err == nil {
			defer img.Close()
			rd, openErr = openImage(d.FS, img)
		} else {
			openErr = err
		}
		for _, f := range d.Files {
			v := Verdict{Case: f.Case, Disk: d.Name, FS: d.FS, BlockSize: d.BlockSize, Revision: o.Revision, Status: Pass}
			for _, op := range f.Ops {
				v.Ops = append(v.Ops, op.String())
			}
			if f.Race != nil {
				v.Ops = append(v.Ops, raceOps(f.Race)...)
			}
			res, ok := results[d.Name+"/"+f.Case]
			v.Seconds = took[d.Name+"/"+f.Case]
			var bad []badRecord
			if !ok {
				bad = g.badFor(d.Name + "/" + f.Case)
			}
			switch {
			case len(bad) > 0:
				v.Errorf(CheckResults, "%s", bad[0])
			case !ok && !started[d.Name+"/"+f.Case]:
				continue // never started: reported once, as not run (see notRun)
			case !ok:
				v.Errorf("crash", "the guest never reported this case: it was running when the guest stopped")
			case !clean:
				// The guest died (or was killed) before unmounting this
				// disk: what the case wrote may still have been in the page
				// cache or the journal, which the host readers do not
				// replay. Judging the image would report data loss that
				// is only the crash's; the case's guest record survives in
				// results.jsonl and its kernel messages below.
				v.Errorf("crash", "not judged on disk: the guest never unmounted %s, so its image may lack this case's data", d.Name)
			case openErr != nil:
				v.Errorf("image", "%v", openErr)
			case f.Race != nil:
				checkRace(&v, t, o.LargeFolios, f, res, rd)
			default:
				v.Trace = res.Trace
				s := checkCase(&v, t, o.LargeFolios, f, res, rd, o.CorruptExpected, o.CorruptExpectedLast)
				judgeCallouts(&v, s, f, res, cc)
			}
			if ok {
				KernelReports(&v, res.Kernel)
			}
			vs = append(vs, v)
		}
		// The filesystem as a whole: a clean unmount and a clean fsck.
		fv := Verdict{Case: FsckCase, Disk: d.Name, FS: d.FS, BlockSize: d.BlockSize, Revision: o.Revision, Status: Pass}
		badUnmount := g.badFor(d.Name)
		if !clean && len(badUnmount) == 0 && !DiskStarted(started, d) {
			continue // the guest never got to this disk: not run
		}
		switch {
		case !clean && len(badUnmount) > 0:
			fv.Errorf(CheckResults, "the unmount record did not decode: %s", badUnmount[0])
		case !clean:
			fv.Errorf("crash", "the guest never unmounted this filesystem")
		case dr.MountErr != "":
			// Its cases are reported as not run, with this cause.
			fv.Errorf("mount", "%s", dr.MountErr)
			vs = append(vs, fv)
			continue
		case dr.UnmountErr != "":
			fv.Failf("unmount", -1, "%s", dr.UnmountErr)
		}
		KernelReports(&fv, dr.Kernel)
		if clean {
			if err := mkfs.Check(ctx, d.FS, ImagePath(o.Out, d.Name)); err != nil {
				fv.Failf("fsck", -1, "%v", err)
			}
		}
		vs = append(vs, fv)
	}
	vs = append(vs, badVerdicts(o.Revision, g.bad)...)
	SortVerdicts(vs)
	return vs
}

// judgeCallouts compares the callout sequences the kernel traced for a
// case's files with the model set s (nil: the case got no further than an
// error, nothing to compare), when cc says the kernel exports the events.
func judgeCallouts(v *Verdict, s *reference.Set, f cases.FilePlan, res cases.Result, cc CalloutCheck) {
	switch {
	case s == nil || !cc.Applies:
	case res.TraceErr != "":
		v.Errorf("callouts", "callout sequence not compared: %s", res.TraceErr)
	default:
		checkFilesCallouts(v, s, f.Ops, res, postFolioHook(cc.Events))
	}
}

// checkCase holds every file of a case against the model. It returns the
// model set when the case got as far as its bytes being judged (nil when it
// was skipped or could not be judged), for the callout comparison.
func checkCase(v *Verdict, t Target, largeFolios bool, f cases.FilePlan, res cases.Result, rd ondisk.Reader, corrupt, corruptLast bool) *reference.Set {
	s, merr := reference.RunSetObserved(Geometry(t, largeFolios), f.Ops, res.Returned)
	if merr != nil && errors.Is(merr, reference.ErrUnsupported) && res.Err != "" {
		v.Status = Skip
		v.Failures = append(v.Failures, Failure{Check: "unsupported", Offset: -1, Msg: merr.Error()})
		return nil
	}
	if merr != nil {
		v.Errorf("model", "%v", merr)
		return nil
	}
	if res.Err != "" {
		v.Errorf("guest", "%s", res.Err)
		return nil
	}
	for i, op := range f.Ops {
		if op.Kind == cases.ShortCopy && i < len(res.Returned) && res.Returned[i] != op.Copied {
			v.Failf("short-copy", -1, "op %d (%s) wrote %d bytes, the model expects %d", i, op, res.Returned[i], op.Copied)
		}
	}
	checkReturned(v, s, f.Ops, res.Returned)
	for _, i := range s.Files() {
		checkReads(v, s.File(i), f.Ops, res)
	}
	inos := map[int]uint64{}
	for _, i := range s.Files() {
		ino, ok := fileIno(res, i)
		if !ok {
			v.Errorf("guest", "the guest reported no inode for file %d (%s)", i, cases.FileName(f.File, i))
			return nil
		}
		inos[i] = ino
		var ev *evidence
		if i == 0 {
			ev = &evidence{geometry: Geometry(t, largeFolios), ops: f.Ops}
		}
		if !checkFile(v, t, s.File(i), f.Ops, rd, ino, filePrefix(f.File, i), corrupt, corruptLast, ev) {
			return nil
		}
		// A recorded finding is a deviation of one file's bytes: the
		// evidence it is held to is the case's own file, and only in a
		// single-file case (another file's failure is never a finding's).
		if ev != nil && v.Status == Fail && len(s.Files()) == 1 {
			v.evidence = ev
		}
	}
	checkSharing(v, t, s, rd, inos)
	return s
}

// checkFile holds one file against its model; false when it could not be
// judged (the verdict then says why).
// ev, when set, receives the bytes compared and the blocks found wrong,
// which a recorded kernel finding is held to (findings.go).
func checkFile(v *Verdict, t Target, m *reference.Model, ops []cases.Op, rd ondisk.Reader, ino uint64, prefix string, corrupt, corruptLast bool, ev *evidence) bool {
	in, err := rd.Inode(ino)
	if err != nil {
		v.Errorf("image", "%sinode %d: %v", prefix, ino, err)
		return false
	}
	want := m.Content()
	if corrupt && len(want) > 0 {
		// Test hook: flip the first non-zero expected byte (or the first).
		i := bytes.IndexFunc(want, func(r rune) bool { return r != 0 })
		if i < 0 {
			i = 0
		}
		want[i] ^= 0xff
	}
	if corruptLast && len(want) > 0 {
		// Test hook: flip the last non-zero expected byte (or the last).
		i := len(want) - 1
		for j := i; j >= 0; j-- {
			if want[j] != 0 {
				i = j
				break
			}
		}
		want[i] ^= 0xff
	}
	if in.Size != m.Size() {
		v.Failf("size", -1, "%son-disk size %d, model %d", prefix, in.Size, m.Size())
	}
	got, err := rd.ReadFile(ino)
	if err != nil {
		v.Errorf("image", "%sread inode %d: %v", prefix, ino, err)
		return false
	}
	if off, n := firstDiff(want, got); off >= 0 {
		end := min(off+n, int64(len(want)), int64(len(got)))
		who := "no op (the model says zero)"
		if off < int64(len(want)) && want[off] != 0 {
			blocks := m.Blocks()
			if b := off / t.BlockSize; b < int64(len(blocks)) && blocks[b].LastOp >= 0 {
				who = fmt.Sprintf("op %d (%s)", blocks[b].LastOp, ops[blocks[b].LastOp])
			}
		}
		more := ""
		if next, _ := firstDiff(want[min(end, int64(len(want))):], got[min(end, int64(len(got))):]); next >= 0 && end < int64(min(len(want), len(got))) {
			more = fmt.Sprintf("; more bytes differ from offset %d", end+next)
		}
		v.Failf("content", off, "%s%d byte(s) differ in [%d, %d): expected %s, got %s; last written by %s%s",
			prefix, n, off, off+n, hexSample(want[off:min(end, int64(len(want)))], 16), hexSample(got[off:min(end, int64(len(got)))], 16), who, more)
		v.Failures[len(v.Failures)-1].ModelZero = off >= int64(len(want)) || want[off] == 0
	}
	if i := bytes.Index(got, mkfs.Poison); i >= 0 {
		v.Failf("stale-data", int64(i), "%sthe free-space poison pattern %q is visible in the file: stale disk contents exposed", prefix, mkfs.Poison)
	}
	tail, err := rd.EOFTail(ino)
	if err != nil {
		v.Errorf("image", "%sEOF tail of inode %d: %v", prefix, ino, err)
	} else if i := bytes.IndexFunc(tail, func(r rune) bool { return r != 0 }); i >= 0 {
		v.Failf("eof-tail", m.Size()+int64(i), "%sthe on-disk EOF block holds non-zero bytes past EOF: %s", prefix, hexSample(tail[i:], 16))
	}
	n := len(v.Failures)
	bad := checkBlocks(v, t, m, in)
	for k := n; k < len(v.Failures); k++ {
		v.Failures[k].Msg = prefix + v.Failures[k].Msg
	}
	if ev != nil {
		ev.want, ev.got, ev.badBlocks = want, got, bad
	}
	return true
}

// checkBlocks compares the model's per-block expectations with the block
// map. It reports the first block that differs and returns them all.
func checkBlocks(v *Verdict, t Target, m *reference.Model, ino *ondisk.Inode) []int64 {
	if stuffed, ok := m.Stuffed(); ok && stuffed != ino.Inline {
		v.Failf("stuffed", -1, "gfs2 stuffed on disk = %v, model = %v", ino.Inline, stuffed)
	}
	kindOf := func(b int64) ondisk.Kind {
		for _, e := range ino.Extents {
			if uint64(b) >= e.Logical && uint64(b) < e.Logical+e.Count {
				return e.Kind
			}
		}
		return ondisk.Hole
	}
	var bad []int64
	failf := func(b int64, format string, args ...any) {
		if len(bad) == 0 {
			v.Failf("holes", b*t.BlockSize, format, args...)
		}
		bad = append(bad, b)
	}
	for _, b := range m.Blocks() {
		k := kindOf(b.Index)
		switch b.State {
		case reference.MustBeHole:
			if k != ondisk.Hole && !b.MayBeAllocated {
				failf(b.Index, "block %d is %s on disk; the model says it stays a hole", b.Index, k)
			}
		case reference.Data:
			if k != ondisk.Data && k != ondisk.Inline {
				failf(b.Index, "block %d is %s on disk; the model says it holds data (last written by op %d)", b.Index, k, b.LastOp)
			}
		case reference.AllocatedZero:
			if k == ondisk.Hole {
				failf(b.Index, "block %d is a hole on disk; the model says it is allocated", b.Index)
			}
		}
	}
	return bad
}

// KernelReports fails a verdict for every kernel report (WARNING, BUG,
// oops, lockdep, hung task, ...) among the kernel log records the guest
// collected while the case ran; other warning-level lines are kept as
// context only (mount notices are warnings too).
func KernelReports(v *Verdict, lines []string) {
	if len(lines) == 0 {
		return
	}
	v.Console = append(v.Console, lines...)
	for _, r := range crash.Classify([]byte(strings.Join(lines, "\n"))) {
		v.Failf("console", -1, "kernel %s during the case: %s", r.Kind, r.Title)
	}
}
