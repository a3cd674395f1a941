package runner

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference/race"
)

// RaceCPUs is the vCPU count of a VM whose plan holds a race: two, as
// sockets (QEMU's -smp 2 alone boots one CPU here: without ACPI, the
// SeaBIOS MP table lists one CPU per socket).
const RaceCPUs = 2

// planCPUs is how many vCPUs a VM running plan needs: RaceCPUs when it
// holds a race, else one (more would only slow a TCG boot).
func planCPUs(plan *cases.Plan) int {
	for _, d := range plan.Disks {
		for _, f := range d.Files {
			if f.Race != nil {
				return RaceCPUs
			}
		}
	}
	return 1
}

// raceOf is a catalogue case's race at block size bs (nil for an ordinary
// case).
func raceOf(c cases.Case, bs int64) (*cases.Race, error) {
	if c.Race == nil {
		return nil, nil
	}
	r := c.Race(bs)
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	return r, nil
}

// raceOps is the race's part of a verdict's ops (the replay lines after
// the setup ops), so a failing race's repro file replays the very thread
// lists that ran.
func raceOps(r *cases.Race) []string {
	return strings.Split(strings.TrimSuffix(cases.RaceLines(r), "\n"), "\n")
}

// checkRace holds a concurrent case's file against the set of legal
// outcomes (reference/race), then applies the on-disk checks every case
// gets: no poison, a zero EOF tail. Hole placement and the callout
// sequence are not predicted for a race.
func checkRace(v *Verdict, t Target, largeFolios bool, f cases.FilePlan, res cases.Result, rd ondisk.Reader) {
	if res.Err != "" {
		v.errorf("guest", "%s", res.Err)
		return
	}
	if res.Race == nil || res.Race.CPUs < RaceCPUs {
		cpus := 0
		if res.Race != nil {
			cpus = res.Race.CPUs
		}
		v.errorf("race", "the guest ran the race on %d CPU(s), not %d: its threads could not run at once", cpus, RaceCPUs)
		return
	}
	e, err := race.Expect(geometry(t, largeFolios), f.Ops, f.Race, res.Race)
	if err != nil {
		v.errorf("model", "%v", err)
		return
	}
	ino, err := rd.Inode(res.Ino)
	if err != nil {
		v.errorf("image", "inode %d: %v", res.Ino, err)
		return
	}
	got, err := rd.ReadFile(res.Ino)
	if err != nil {
		v.errorf("image", "read inode %d: %v", res.Ino, err)
		return
	}
	for _, p := range e.Check(race.Outcome{Size: ino.Size, Content: got}) {
		v.fail(Check(p.Check), p.Offset, "%s", p.Msg)
		v.Failures[len(v.Failures)-1].ModelZero = p.ModelZero
	}
	if i := bytes.Index(got, mkfs.Poison); i >= 0 {
		v.fail("stale-data", int64(i), "the free-space poison pattern %q is visible in the file: stale disk contents exposed", mkfs.Poison)
	}
	tail, err := rd.EOFTail(res.Ino)
	if err != nil {
		v.errorf("image", "EOF tail of inode %d: %v", res.Ino, err)
	} else if i := bytes.IndexFunc(tail, func(r rune) bool { return r != 0 }); i >= 0 {
		v.fail("eof-tail", ino.Size+int64(i), "the on-disk EOF block holds non-zero bytes past EOF: %s", hexSample(tail[i:], 16))
	}
}

// RepeatName is the case name of repetition k (0-based) of a case run
// --repeat times; the first keeps the case's own name.
func RepeatName(name string, k int) string {
	if k == 0 {
		return name
	}
	return fmt.Sprintf("%s@%d", name, k+1)
}

// repeatBase strips RepeatName's suffix.
func repeatBase(name string) string {
	if i := strings.LastIndex(name, "@"); i > 0 {
		return name[:i]
	}
	return name
}

// Reproduction is how often one case failed over its repetitions on one
// disk.
type Reproduction struct {
	Disk, Case   string
	Failed, Runs int
	// First is the first failure's one-line summary.
	First string
}

// Reproductions counts, per case and disk, how many of its repetitions
// (--repeat) failed; only cases that failed at least once are listed.
func Reproductions(vs []Verdict) []Reproduction {
	idx := map[[2]string]*Reproduction{}
	var order [][2]string
	for _, v := range vs {
		if v.Case == "(unmount+fsck)" {
			continue
		}
		key := [2]string{v.Disk, repeatBase(v.Case)}
		r := idx[key]
		if r == nil {
			r = &Reproduction{Disk: key[0], Case: key[1]}
			idx[key] = r
			order = append(order, key)
		}
		r.Runs++
		if v.Status == Fail || v.Status == Error {
			r.Failed++
			if r.First == "" {
				r.First = v.Line()
			}
		}
	}
	var out []Reproduction
	for _, k := range order {
		if idx[k].Failed > 0 {
			out = append(out, *idx[k])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Disk != out[j].Disk {
			return out[i].Disk < out[j].Disk
		}
		return out[i].Case < out[j].Case
	})
	return out
}
