package runner

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// PrintHuman writes what a kernel developer reads first: only what did not
// pass, grouped by how it failed (status, check, filesystem and the message
// without its numbers) with a count and one full example per group, then
// one line per filesystem, the recorded findings that showed, and the
// closing count. PrintVerbose writes every verdict as well.
func PrintHuman(w io.Writer, r *Report) { printHuman(w, r, false) }

// PrintVerbose is PrintHuman with every verdict's line and every failure's
// full account (iomapct -v).
func PrintVerbose(w io.Writer, r *Report) { printHuman(w, r, true) }

func printHuman(w io.Writer, r *Report, verbose bool) {
	fmt.Fprintf(w, "kernel: %s, series %s (%d patches) [%s]\n", r.SourceID, r.SeriesID, r.Patches, r.Revision)
	if verbose {
		for _, v := range r.Verdicts {
			fmt.Fprintln(w, v.Line())
		}
	}
	// One line per filesystem: PASS only if every case on it passed.
	fsStatus := map[string]Status{}
	var order []string
	for _, v := range r.Verdicts {
		if _, ok := fsStatus[v.FS]; !ok {
			order = append(order, v.FS)
			fsStatus[v.FS] = Pass
		}
		if v.Status == Fail || v.Status == Error {
			fsStatus[v.FS] = Fail
		}
	}
	if verbose {
		fmt.Fprintln(w)
		for _, fs := range order {
			fmt.Fprintf(w, "%s %s\n", fsStatus[fs], fs)
		}
		for _, v := range r.Verdicts {
			if v.Status == Fail || v.Status == Error {
				fmt.Fprintln(w)
				printVerdictDetail(w, v)
			}
		}
	} else {
		printGroups(w, groupFailures(r.Verdicts))
		fmt.Fprintln(w)
		for _, fs := range order {
			fmt.Fprintf(w, "%s %s\n", fsStatus[fs], fs)
		}
	}
	if r.Crash != "" {
		fmt.Fprintf(w, "\nCRASH: %s\n", r.Crash)
	}
	for _, n := range r.NotRun {
		fmt.Fprintf(w, "\n%s\n", n.line())
	}
	if !r.Passed() {
		if len(r.VMs) > 1 {
			fmt.Fprintf(w, "\nimages and results: %s\n", r.Out)
			for _, vm := range r.VMs {
				fmt.Fprintf(w, "VM %d (%s): console log %s\n  reproduce: %s\n", vm.Index, strings.Join(vm.Disks, ", "), vm.Console, vm.Repro)
			}
		} else {
			fmt.Fprintf(w, "\nconsole log: %s\nimages and results: %s\nreproduce the VM: %s\n", r.Console, r.Out, r.Repro)
		}
	}
	n := map[Status]int{}
	for _, v := range r.Verdicts {
		n[v.Status]++
	}
	known := map[string]int{}
	var findings []string
	for _, v := range r.Verdicts {
		if v.Status == Known {
			if known[v.Finding] == 0 {
				findings = append(findings, v.Finding)
			}
			known[v.Finding]++
		}
	}
	for _, f := range findings {
		if verbose {
			fmt.Fprintf(w, "\nKNOWN kernel finding %s\n", f)
			continue
		}
		id, _, _ := strings.Cut(f, ":")
		if len(findings) > 0 && f == findings[0] {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "KNOWN kernel finding %s: %d case(s) (README \"Kernel findings\"; -v for each)\n", id, known[f])
	}
	// FAILs that fit a recorded finding without a byte model stay FAILs;
	// saying which finding they fit saves a reader the search.
	unmodelled := map[string]int{}
	var fits []string
	for _, v := range r.Verdicts {
		if v.Status == Fail && v.Unmodelled != "" {
			if unmodelled[v.Unmodelled] == 0 {
				fits = append(fits, v.Unmodelled)
			}
			unmodelled[v.Unmodelled]++
		}
	}
	for i, id := range fits {
		if i == 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "FAIL fits kernel finding %s: %d case(s), which has no byte model: still FAIL (README \"Kernel findings\")\n", id, unmodelled[id])
	}
	if r.Callouts.Note != "" {
		fmt.Fprintf(w, "\ncallout sequence: %s\n", r.Callouts.Note)
	}
	// KNOWN verdicts count as skipped in the closing line: the kernel's
	// deviation is recorded, not passed.
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", n[Pass], n[Fail]+n[Error], n[Skip]+n[Known])
}

// WriteReports writes report.json, report.ktap and junit.xml into the run
// directory.
func WriteReports(r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Out, "report.json"), b, 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(r.Out, "report.ktap"), r, WriteKTAP); err != nil {
		return err
	}
	return writeFile(filepath.Join(r.Out, "junit.xml"), r, WriteJUnit)
}

// writeFile renders r into path with one of the report writers; an error
// closing the file (a full disk shows there) is an error of the write.
func writeFile(path string, r *Report, render func(io.Writer, *Report) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render(f, r); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
	seconds  float64
}

type junitCase struct {
	Name      string     `xml:"name,attr"`
	Classname string     `xml:"classname,attr"`
	Time      string     `xml:"time,attr"`
	Failure   *junitText `xml:"failure,omitempty"`
	Error     *junitText `xml:"error,omitempty"`
	Skipped   *junitText `xml:"skipped,omitempty"`
}

type junitText struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit renders one suite per disk, one testcase per case.
func WriteJUnit(w io.Writer, r *Report) error {
	var doc junitSuites
	idx := map[string]int{}
	for _, v := range r.Verdicts {
		i, ok := idx[v.Disk]
		if !ok {
			i = len(doc.Suites)
			idx[v.Disk] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: r.Revision + "/" + v.Disk})
		}
		s := &doc.Suites[i]
		c := junitCase{Name: v.Case, Classname: r.Revision + "." + v.Disk, Time: fmt.Sprintf("%.3f", v.Seconds)}
		s.seconds += v.Seconds
		s.Time = fmt.Sprintf("%.3f", s.seconds)
		var lines []string
		for _, f := range v.Failures {
			lines = append(lines, f.String())
		}
		body := strings.Join(append(lines, "ops: "+describeOps(v.Ops)), "\n")
		msg := ""
		if len(v.Failures) > 0 {
			msg = v.Failures[0].String()
		}
		switch v.Status {
		case Fail:
			c.Failure = &junitText{Message: msg, Body: body}
			s.Failures++
		case Error:
			c.Error = &junitText{Message: msg, Body: body}
			s.Errors++
		case Skip:
			c.Skipped = &junitText{Message: msg}
			s.Skipped++
		case Known:
			c.Skipped = &junitText{Message: "known kernel deviation " + v.Finding, Body: body}
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func describeOps(ops []string) string { return strings.Join(ops, "; ") }

// Report is everything a run found.
type Report struct {
	Revision string    `json:"revision"`
	SourceID string    `json:"source_id"`
	SeriesID string    `json:"series_id"`
	Patches  int       `json:"patches"`
	Kernel   string    `json:"kernel"`
	Verdicts []Verdict `json:"verdicts"`
	Stages   []Stage   `json:"stages"`
	// Callouts says whether the callout sequences were compared.
	Callouts CalloutCheck `json:"callouts"`
	// Crash is set when a guest did not finish (no done record); with
	// several VMs it names each VM that crashed and its disks.
	Crash string `json:"crash,omitempty"`
	// NotRun lists the cases that never ran and why (once per cause, not
	// as an error per case).
	NotRun []NotRun `json:"not_run,omitempty"`
	// Console is the console log (one per VM, comma-separated).
	Console string `json:"console_log"`
	// Repro is the QEMU command line of the run (one line per VM).
	Repro string  `json:"repro,omitempty"`
	VMs   []VMRun `json:"vms"`
	Out   string  `json:"out"`
	// KernelKey is the kernel's cache key (source, series and config).
	KernelKey string `json:"kernel_key,omitempty"`
	// ImagesRemoved lists the disks whose images were removed after
	// judging because every case on them passed (run --keep-images keeps
	// them).
	ImagesRemoved []string `json:"images_removed,omitempty"`
	// Shard is set on a sharded run: which part of which plan it ran.
	Shard *ShardInfo `json:"shard,omitempty"`
}

// Passed reports whether every verdict passed (or was skipped).
func (r *Report) Passed() bool {
	if r.Crash != "" || len(r.NotRun) > 0 {
		return false
	}
	if len(r.Verdicts) == 0 {
		// Nothing judged is a failure, except for a shard that was
		// given nothing to run (more shards than pairs).
		return r.Shard != nil && r.Shard.Kept == 0
	}
	for _, v := range r.Verdicts {
		if v.Status != Pass && v.Status != Skip && v.Status != Known {
			return false
		}
	}
	return true
}
