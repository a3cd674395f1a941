// Package judge turns what a run left behind (the plan the guest ran, the
// guest's result records and the disk images) into verdicts: it reads the
// images with the host readers and holds the bytes, the block map and the
// callout trace against the reference model, then matches failures to the
// recorded kernel findings. It never builds or boots anything (no kernel,
// no QEMU: imports_test.go holds it to that), so a finished run can be
// judged again on the host alone (runner.Rejudge, iomapct judge).
package judge

import (
	"fmt"
	"strings"
)

// Status is a verdict's outcome.
type Status string

const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	// Error: the case could not be judged (guest error, crash, bad image).
	Error Status = "ERROR"
	// Skip: the filesystem does not support an op of the case.
	Skip Status = "SKIP"
)

// Failure is one check that did not hold.
type Failure struct {
	// Check names the invariant (one of Checks).
	Check Check  `json:"check"`
	Msg   string `json:"msg"`
	// Offset is the first file (or image, for fsck) byte at fault, -1 if
	// not about a byte.
	Offset int64 `json:"offset"`
	// ModelZero: a content failure whose first differing byte the model
	// says is zero (garbage where nothing was written), as opposed to
	// wrong data where the model has data.
	ModelZero bool `json:"model_zero,omitempty"`
}

func (f Failure) String() string {
	if f.Offset >= 0 {
		return fmt.Sprintf("%s at offset %d (%#x): %s", f.Check, f.Offset, f.Offset, f.Msg)
	}
	return string(f.Check) + ": " + f.Msg
}

// Verdict is the outcome for one (case, filesystem, block size, revision).
type Verdict struct {
	Case      string    `json:"case"`
	Disk      string    `json:"disk"`
	FS        string    `json:"fs"`
	BlockSize int64     `json:"block_size"`
	Revision  string    `json:"revision"`
	Status    Status    `json:"status"`
	Failures  []Failure `json:"failures,omitempty"`
	// Ops is the case in replay syntax, for the report and a repro.
	Ops []string `json:"ops,omitempty"`
	// Console holds kernel console lines logged while the case ran.
	Console []string `json:"console,omitempty"`
	// Repro is a one-line command that replays just this case.
	Repro string `json:"repro,omitempty"`
	// Finding names the recorded kernel deviation a KNOWN verdict matches.
	Finding string `json:"finding,omitempty"`
	// Unmodelled names a recorded finding without a byte model (a race's
	// lost data) whose case, filesystem and failure kinds a FAIL fits: the
	// verdict stays FAIL (nothing says the bytes are that deviation's),
	// but compare does not count a flaky one showing in one revision and
	// not another as a difference between them.
	Unmodelled string `json:"unmodelled,omitempty"`
	// Trace is the callout sequence the kernel recorded for the file
	// (iomap_write_begin/iomap_write_end/... events), where it exports one.
	Trace []string `json:"trace,omitempty"`
	// evidence is kept for a failed case so the findings can hold its
	// bytes against their modelled deviations (findings.go).
	evidence *evidence
	// Seconds is how long the case ran in the guest, from its start
	// record to its result (0 when it did not finish).
	Seconds float64 `json:"seconds,omitempty"`
}

// Failf records a failure of check at offset off (-1: not about a byte);
// the verdict fails unless it is already an error.
func (v *Verdict) Failf(check Check, off int64, format string, args ...any) {
	v.Failures = append(v.Failures, Failure{Check: check, Offset: off, Msg: fmt.Sprintf(format, args...)})
	if v.Status != Error {
		v.Status = Fail
	}
}

// Errorf records that check could not be judged: the verdict is an error.
func (v *Verdict) Errorf(check Check, format string, args ...any) {
	v.Failures = append(v.Failures, Failure{Check: check, Offset: -1, Msg: fmt.Sprintf(format, args...)})
	v.Status = Error
}

// Line is the one-line summary of the verdict.
func (v Verdict) Line() string {
	s := fmt.Sprintf("%-5s %-8s %s", v.Status, v.Disk, v.Case)
	if v.Finding != "" {
		id, _, _ := strings.Cut(v.Finding, ":")
		s += ": kernel finding " + id + "; " + v.Failures[0].String()
	} else if len(v.Failures) > 0 {
		s += ": " + v.Failures[0].String()
		if len(v.Failures) > 1 {
			s += fmt.Sprintf(" (+%d more)", len(v.Failures)-1)
		}
	}
	return s
}

// firstDiff returns the first offset where a and b differ and the length
// of the differing run, or -1.
func firstDiff(want, got []byte) (int64, int64) {
	n := min(len(want), len(got))
	for i := 0; i < n; i++ {
		if want[i] != got[i] {
			j := i
			for j < n && want[j] != got[j] {
				j++
			}
			return int64(i), int64(j - i)
		}
	}
	if len(want) != len(got) {
		return int64(n), int64(max(len(want), len(got)) - n)
	}
	return -1, 0
}

func hexSample(b []byte, max int) string {
	if len(b) > max {
		return fmt.Sprintf("% x …", b[:max])
	}
	return fmt.Sprintf("% x", b)
}
