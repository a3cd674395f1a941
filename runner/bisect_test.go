package runner

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/kernel"
)

// search over prefixes 0..n where prefixes >= bad fail and those in
// untestable cannot run the signature's checks.
func TestBisectSearch(t *testing.T) {
	for _, tc := range []struct {
		n, bad     int
		untestable []int
		lo, hi     int
		maxTests   int
	}{
		{n: 5, bad: 3, lo: 2, hi: 3, maxTests: 4},
		{n: 5, bad: 1, lo: 0, hi: 1, maxTests: 4},
		{n: 5, bad: 5, lo: 4, hi: 5, maxTests: 4},
		{n: 5, bad: 0, lo: -1, hi: 0, maxTests: 1},
		{n: 1, bad: 1, lo: 0, hi: 1, maxTests: 1},
		{n: 16, bad: 11, lo: 10, hi: 11, maxTests: 6},
		// A callout-only bug in patch 5 of a series whose trace events come
		// with patch 4: prefixes 0..3 cannot see it.
		{n: 5, bad: 5, untestable: []int{0, 1, 2, 3}, lo: 4, hi: 5, maxTests: 2},
		// The same bug in patch 2: the tracepoints patch 4 makes it visible,
		// and nothing between can say more than "2..4".
		{n: 4, bad: 2, untestable: []int{0, 1, 2, 3}, lo: -1, hi: 4, maxTests: 4},
		// An unbuildable prefix next to the first bad one leaves a range.
		{n: 6, bad: 4, untestable: []int{3}, lo: 2, hi: 4, maxTests: 5},
	} {
		name := fmt.Sprintf("n=%d bad=%d untestable=%v", tc.n, tc.bad, tc.untestable)
		state := map[int]StepVerdict{tc.n: StepBad}
		var tested []int
		lo, hi, err := search(tc.n, state, func(k int) error {
			tested = append(tested, k)
			switch {
			case contains(tc.untestable, k):
				state[k] = StepUntestable
			case k >= tc.bad:
				state[k] = StepBad
			default:
				state[k] = StepGood
			}
			return nil
		})
		require.NoError(t, err, name)
		assert.Equal(t, [2]int{tc.lo, tc.hi}, [2]int{lo, hi}, "%s: tested %v", name, tested)
		assert.LessOrEqual(t, len(tested), tc.maxTests, "%s: tested %v", name, tested)
		seen := map[int]bool{}
		for _, k := range tested {
			assert.False(t, seen[k], "%s: prefix %d tested twice", name, k)
			seen[k] = true
		}
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestBisectDecide(t *testing.T) {
	s := kernel.Series{Patches: []kernel.Patch{{Name: "p1"}, {Name: "p2"}, {Name: "p3"}, {Name: "p4"}}}
	r := &BisectResult{}
	r.decide(2, 3, map[int]StepVerdict{2: StepGood, 3: StepBad}, s)
	assert.Equal(t, 3, r.First)
	assert.Equal(t, 3, r.From)
	assert.Equal(t, "p3", r.Patch)

	r = &BisectResult{}
	r.decide(-1, 4, map[int]StepVerdict{0: StepUntestable, 1: StepUntestable, 2: StepUntestable, 3: StepUntestable, 4: StepBad}, s)
	assert.Equal(t, 1, r.From)
	assert.Equal(t, 4, r.First)
	assert.Contains(t, r.Reason, "one of 1..4")

	r = &BisectResult{}
	r.decide(-1, 0, map[int]StepVerdict{0: StepBad}, s)
	assert.Equal(t, 0, r.First)
	assert.Contains(t, r.Reason, "unpatched kernel already fails")
}

// A prefix without trace events cannot pass a callout signature, and a
// failure of another check does not make it bad.
func TestJudgeStepHoldsToTheSignature(t *testing.T) {
	sig := Signature{{Disk: "gfs2-4k", Case: "c", Check: "callouts"}, {Disk: "gfs2-4k", Case: "d", Check: "content"}}
	rep := &Report{Callouts: CalloutCheck{Applies: false, Note: "NOT CHECKED: no trace events"},
		Verdicts: []Verdict{{Disk: "gfs2-4k", Case: "c", Status: Pass}, {Disk: "gfs2-4k", Case: "d", Status: Fail, Failures: []Failure{{Check: "size"}}}}}
	st := judgeStep(2, rep, sig)
	assert.Equal(t, StepUntestable, st.Verdict)
	assert.Contains(t, st.Why, "NOT CHECKED")

	rep.Callouts.Applies = true
	st = judgeStep(3, rep, sig)
	assert.Equal(t, StepGood, st.Verdict, "a size failure is not the content signature")

	rep.Verdicts[0] = Verdict{Disk: "gfs2-4k", Case: "c", Status: Fail, Failures: []Failure{{Check: "callouts"}}}
	st = judgeStep(4, rep, sig)
	assert.Equal(t, StepBad, st.Verdict)
	assert.Equal(t, []string{"gfs2-4k c [callouts]"}, st.Failing)
}
