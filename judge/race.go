package judge

import (
	"bytes"
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
		v.Errorf("guest", "%s", res.Err)
		return
	}
	if res.Race == nil || res.Race.CPUs < RaceCPUs {
		cpus := 0
		if res.Race != nil {
			cpus = res.Race.CPUs
		}
		v.Errorf("race", "the guest ran the race on %d CPU(s), not %d: its threads could not run at once", cpus, RaceCPUs)
		return
	}
	e, err := race.Expect(Geometry(t, largeFolios), f.Ops, f.Race, res.Race)
	if err != nil {
		v.Errorf("model", "%v", err)
		return
	}
	ino, err := rd.Inode(res.Ino)
	if err != nil {
		v.Errorf("image", "inode %d: %v", res.Ino, err)
		return
	}
	got, err := rd.ReadFile(res.Ino)
	if err != nil {
		v.Errorf("image", "read inode %d: %v", res.Ino, err)
		return
	}
	for _, p := range e.Check(race.Outcome{Size: ino.Size, Content: got}) {
		v.Failf(Check(p.Check), p.Offset, "%s", p.Msg)
		v.Failures[len(v.Failures)-1].ModelZero = p.ModelZero
	}
	if i := bytes.Index(got, mkfs.Poison); i >= 0 {
		v.Failf("stale-data", int64(i), "the free-space poison pattern %q is visible in the file: stale disk contents exposed", mkfs.Poison)
	}
	tail, err := rd.EOFTail(res.Ino)
	if err != nil {
		v.Errorf("image", "EOF tail of inode %d: %v", res.Ino, err)
	} else if i := bytes.IndexFunc(tail, func(r rune) bool { return r != 0 }); i >= 0 {
		v.Failf("eof-tail", ino.Size+int64(i), "the on-disk EOF block holds non-zero bytes past EOF: %s", hexSample(tail[i:], 16))
	}
}
