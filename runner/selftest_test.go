package runner

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/kernel"
)

// A verdict kills a mutant only where the control passed (or was KNOWN or
// skipped): a case the unmutated kernel already fails proves nothing.
func TestKillsNeedAPassingControl(t *testing.T) {
	v := func(c string, s Status, checks ...Check) Verdict {
		out := Verdict{Disk: "xfs-1k", Case: c, Status: s}
		for _, ch := range checks {
			out.Failures = append(out.Failures, Failure{Check: ch, Offset: -1})
		}
		return out
	}
	control := map[string]Verdict{}
	for _, c := range []Verdict{v("a", Pass), v("b", Fail, "content"), v("c", Known, "content"), v("d", Pass)} {
		control[c.Disk+"/"+c.Case] = c
	}
	rep := &Report{Verdicts: []Verdict{
		v("a", Fail, "content", "holes", "content"),
		v("b", Fail, "content"), // the control fails it too
		v("c", Fail, "size"),    // KNOWN in the control: a difference
		v("d", Pass),
		v("e", Error, "guest"), // not in the control (a new case)
	}}
	assert.Equal(t, []Kill{
		{Disk: "xfs-1k", Case: "a", Checks: []string{"content", "holes"}},
		{Disk: "xfs-1k", Case: "c", Checks: []string{"size"}},
		{Disk: "xfs-1k", Case: "e", Checks: []string{"guest"}},
	}, kills(rep, control))
}

func TestSelftestTable(t *testing.T) {
	m := func(name, kills, needs string) kernel.Mutant {
		return kernel.Mutant{Name: name, Kills: kills, Needs: needs}
	}
	rs := []MutantResult{
		{Name: "killed", Mutant: m("killed", "holes", ""), Expected: true,
			Kills: []Kill{{Disk: "xfs-1k", Case: "x", Checks: []string{"content"}}, {Disk: "xfs-4k", Case: "y", Checks: []string{"content", "holes"}}}},
		{Name: "other-check", Mutant: m("other-check", "fsck", ""), Kills: []Kill{{Disk: "ext2-1k", Case: "z", Checks: []string{"content"}}}},
		{Name: "survivor", Mutant: m("survivor", "content", "")},
		{Name: "awaits", Mutant: m("awaits", "read", "read")},
		{Name: "skipped", Mutant: m("skipped", "cow", "cow"), Skipped: true},
	}
	var b bytes.Buffer
	PrintSelftest(&b, rs)
	out := b.String()
	assert.Contains(t, out, "killed       holes           0s  KILLED by 2 verdict(s): content×2, holes×1; e.g. xfs-4k y\n")
	assert.Contains(t, out, "KILLED by 1 verdict(s): content×1; e.g. ext2-1k z (not by fsck)\n")
	assert.Contains(t, out, "survivor     content         0s  SURVIVED\n")
	assert.Contains(t, out, "SURVIVED: needs read\n")
	assert.Contains(t, out, "not run: needs cow (--all runs it)\n")
	assert.Contains(t, out, "2 killed, 1 survived, 1 survived awaiting their check family, 1 not run (need a check family), 0 errors; 1 killed but not by the check they name\n")
	var failed []string
	for _, r := range rs {
		if r.Failed() {
			failed = append(failed, r.Name)
		}
	}
	assert.Equal(t, []string{"survivor"}, failed, "only a survivor the suite's checks should have caught fails the self-test")
}
