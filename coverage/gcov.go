// Package coverage turns a coverage kernel's gcov counters, as the guest
// sent them (vmtest/proto.Gcov records), into line and function counts of
// the instrumented sources: per file, per function, which lines were
// reached and which step (case) first reached each; and it writes them as
// an lcov tracefile for genhtml. Pure host side: it runs gcc's gcov (the
// same gcc that built the kernel) on each .gcda with the build's .gcno.
package coverage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Counts is what gcov says about one source file from one .gcda.
type Counts struct {
	// Lines maps each executable line to its execution count; lines that
	// compiled to no code are absent.
	Lines map[int]int64
	// Funcs are the functions compiled out of line, as gcov names them.
	Funcs []GcovFunc
}

// GcovFunc is one function of gcov's JSON output.
type GcovFunc struct {
	Name           string `json:"name"`
	StartLine      int    `json:"start_line"`
	EndLine        int    `json:"end_line"`
	ExecutionCount int64  `json:"execution_count"`
}

type gcovJSON struct {
	FormatVersion string `json:"format_version"`
	GCCVersion    string `json:"gcc_version"`
	CWD           string `json:"current_working_directory"`
	Files         []struct {
		File      string     `json:"file"`
		Functions []GcovFunc `json:"functions"`
		Lines     []struct {
			LineNumber int   `json:"line_number"`
			Count      int64 `json:"count"`
		} `json:"lines"`
	} `json:"files"`
}

// ParseGcovJSON reads `gcov --json-format --stdout` output and returns the
// counts of the source whose path ends in source (tree-relative, e.g.
// "fs/iomap/buffered-io.c"); gcov also lists the headers whose inline
// functions the object compiled, which are not asked for here.
func ParseGcovJSON(b []byte, source string) (*Counts, error) {
	var all []gcovJSON
	// gcov writes one JSON document per data file on --stdout.
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var g gcovJSON
		if err := dec.Decode(&g); err != nil {
			return nil, fmt.Errorf("gcov JSON: %w", err)
		}
		all = append(all, g)
	}
	for _, g := range all {
		if g.FormatVersion != "1" {
			return nil, fmt.Errorf("gcov JSON format_version %q (gcc %s): only version 1 (gcc 9-13) is understood", g.FormatVersion, g.GCCVersion)
		}
		for _, f := range g.Files {
			if f.File != source && !strings.HasSuffix(f.File, "/"+source) {
				continue
			}
			c := &Counts{Lines: map[int]int64{}, Funcs: f.Functions}
			for _, l := range f.Lines {
				// A line can be listed once per function instance
				// (inlined copies are not, but templates would be).
				c.Lines[l.LineNumber] += l.Count
			}
			return c, nil
		}
	}
	return nil, fmt.Errorf("gcov output names no file ending in %s", source)
}

// Gcov runs gcc's gcov on a build's notes.
type Gcov struct {
	// Tool is the gcov binary; it must come from the gcc that built the
	// kernel (the notes format changes between gcc versions).
	Tool string
	// Notes is the kernel artifact's gcov directory: <stem>.gcno files and
	// src/<stem>.c.
	Notes string
	runs  atomic.Int64 // gcov invocations, for reports and benchmarks
}

// Runs is how many times gcov ran.
func (g *Gcov) Runs() int { return int(g.runs.Load()) }

// Count runs gcov on one object's data (stem "fs/iomap/buffered-io").
func (g *Gcov) Count(stem string, gcda []byte) (*Counts, error) {
	dir, err := os.MkdirTemp("", "iomapct-gcov-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	base := filepath.Base(stem)
	gcno, err := filepath.Abs(filepath.Join(g.Notes, stem+".gcno"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(gcno); err != nil {
		return nil, fmt.Errorf("gcov notes of %s: %w", stem, err)
	}
	if err := os.Symlink(gcno, filepath.Join(dir, base+".gcno")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, base+".gcda"), gcda, 0o644); err != nil {
		return nil, err
	}
	tool := g.Tool
	if tool == "" {
		tool = "gcov"
	}
	cmd := exec.Command(tool, "--json-format", "--stdout", "--object-directory", dir, filepath.Join(dir, base+".gcda"))
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	g.runs.Add(1)
	if err != nil {
		if _, ok := err.(*exec.Error); ok {
			return nil, fmt.Errorf("%s: %w (gcov comes with gcc: apt-get install gcc)", tool, err)
		}
		return nil, fmt.Errorf("gcov %s: %v: %s", stem, err, strings.TrimSpace(stderr.String()))
	}
	// gcov warns, but still prints, when notes and data disagree: the
	// counts would then be garbage.
	if s := stderr.String(); strings.Contains(s, "stamp mismatch") || strings.Contains(s, "version") && strings.Contains(s, "prefer") {
		return nil, fmt.Errorf("gcov %s: the .gcda does not belong to %s: %s", stem, gcno, strings.TrimSpace(s))
	}
	return ParseGcovJSON(out, stem+".c")
}
