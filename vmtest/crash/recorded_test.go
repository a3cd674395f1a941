package crash_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/vmtest/crash"
)

// The recorded logs come from the project's own 6.12 kernel booted under
// QEMU by TestRecord: the trigger program logs markers for disk/case1..3
// and has LKDTM provoke a crash during disk/case3.
const crashCase = "disk/case3"

// lkdtmFrame is on every provoked report's stack: the debugfs write
// handler calls the crash type's function through it.
const lkdtmFrame = " lkdtm_do_action+0x"

type recordedWant struct {
	kind, title string
	fatal       bool
	// then: the kinds of the reports that follow the first one.
	then []string
}

var recorded = map[string]recordedWant{
	"warning.log":         {kind: crash.KindWarning, title: "WARNING in lkdtm_WARNING"},
	"warning-message.log": {kind: crash.KindWarning, title: "WARNING in lkdtm_WARNING_MESSAGE"},
	"bug.log":             {kind: crash.KindBug, title: "kernel BUG in lkdtm_BUG", fatal: true},
	"oops.log":            {kind: crash.KindOops, title: "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", fatal: true},
	"oops-panic.log":      {kind: crash.KindOops, title: "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", fatal: true, then: []string{crash.KindPanic}},
	"panic.log":           {kind: crash.KindPanic, title: "kernel panic: dumptest", fatal: true},
	"hung-task.log":       {kind: crash.KindHungTask, title: "INFO: task hung in lkdtm_HUNG_TASK"},
	// softlockup_panic=1: the lockup never ends on one CPU.
	"soft-lockup.log": {kind: crash.KindSoftLockup, title: "BUG: soft lockup in lkdtm_SOFTLOCKUP", fatal: true, then: []string{crash.KindPanic}},
	// panic_on_rcu_stall=1. The stall report dumps the starved GP kthread
	// first; the title comes from the second dump, where it last ran.
	"rcu-stall.log": {kind: crash.KindRCUStall, title: "INFO: rcu detected stall in lkdtm_SOFTLOCKUP", fatal: true, then: []string{crash.KindPanic}},
}

func readTestdata(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err, "recorded log missing; re-record with: go test ./vmtest/crash -run TestRecord -record")
	return b
}

func TestRecordedCrashes(t *testing.T) {
	for _, rec := range recordings {
		if rec.trigger == "" {
			continue
		}
		want, ok := recorded[rec.file]
		require.True(t, ok, "no expectation for %s", rec.file)
		t.Run(rec.file, func(t *testing.T) {
			log := readTestdata(t, rec.file)
			reps := crash.Classify(log)
			require.NotEmpty(t, reps, "no report found in %s", rec.file)
			r := reps[0]
			assert.Equal(t, want.kind, r.Kind)
			assert.Equal(t, want.title, r.Title)
			assert.Equal(t, want.fatal, r.Fatal, "fatal")
			var kinds []string
			for _, r := range reps[1:] {
				kinds = append(kinds, r.Kind)
			}
			assert.Equal(t, want.then, kinds, "reports after the first")
			for _, r := range reps {
				// Never case 1 or 2: they had ended before the crash.
				assert.Equal(t, crashCase, r.Case, "%s at line %d", r.Title, r.Line)
			}

			ex := strings.Join(r.Excerpt, "\n")
			assert.Contains(t, ex, "Call Trace:")
			assert.Contains(t, ex, lkdtmFrame, "the call trace down to LKDTM")
			assert.LessOrEqual(t, len(r.Excerpt), crash.MaxExcerpt)

			// Line points at the header in the log itself.
			lines := strings.Split(string(log), "\n")
			require.Less(t, r.Line-1, len(lines))
			assert.True(t, strings.HasSuffix(lines[r.Line-1], r.Excerpt[0]), "line %d is %q", r.Line, lines[r.Line-1])

			// Attribute agrees: the header was logged during case 3.
			att := crash.Attribute(log)
			assert.Contains(t, strings.Join(att[crashCase], "\n"), r.Excerpt[0])
			for _, c := range []string{"disk/case1", "disk/case2"} {
				assert.Contains(t, att, c, "case ran")
				assert.Empty(t, crash.Classify([]byte(strings.Join(att[c], "\n"))), "no report inside %s", c)
			}
		})
	}
}

func TestRecordedCleanRun(t *testing.T) {
	log := readTestdata(t, "clean.log")
	assert.Empty(t, crash.Classify(log))
	att := crash.Attribute(log)
	assert.Len(t, att, 3)
	for _, c := range []string{"disk/case1", "disk/case2", "disk/case3"} {
		assert.Contains(t, att, c)
	}
	assert.Contains(t, string(log), "reboot: Restarting system", "the clean run ended by rebooting")
}
