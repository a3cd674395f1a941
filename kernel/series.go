package kernel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Patch is one patch of a series.
type Patch struct {
	// Name is the file (and, for an mbox, the message number) it came from.
	Name string
	// Subject is the first subject line, if the patch has mail headers.
	Subject string
	// Body is the patch text as `patch -p1` reads it.
	Body []byte
}

// Series is an ordered list of patches. The empty series is the unpatched
// control.
type Series struct {
	// Dir is where it was read from.
	Dir     string
	Patches []Patch
	// AllowFuzz accepts hunks that patch applies only with fuzz (context
	// lines that no longer match); otherwise such a hunk is an error, as
	// the kernel tested would not be the one the series describes.
	AllowFuzz bool
}

// ID identifies the series content for cache keys and reports.
func (s Series) ID() string {
	parts := []string{}
	for _, p := range s.Patches {
		parts = append(parts, string(p.Body))
	}
	return hashStrings(parts...)
}

// Prefix is the series cut after its first n patches (for bisecting).
func (s Series) Prefix(n int) Series {
	return Series{Dir: s.Dir, Patches: s.Patches[:n], AllowFuzz: s.AllowFuzz}
}

// ReadSeries reads a series directory in any of the forms kernel developers
// hold patches in: a quilt `series` file naming the patches, a directory of
// `git format-patch` files (NNNN-*.patch), or an mbox (*.mbox, *.mbx) as git
// send-email and b4 write it.
//
// dir may also be one mbox or .patch file. A series that yields no patch,
// or a patch that holds no diff, is an error: building it would test the
// unpatched kernel under the series' name (see EmptySeriesError).
func ReadSeries(dir string) (Series, error) {
	s, err := readSeries(dir)
	if err != nil {
		return s, err
	}
	if len(s.Patches) == 0 {
		return s, &EmptySeriesError{Dir: dir}
	}
	for _, p := range s.Patches {
		if !hasDiff(p.Body) {
			return s, fmt.Errorf("series %s: patch %s holds no diff (empty, or a cover letter)", dir, p.Name)
		}
	}
	return s, nil
}

// EmptySeriesError is a series source that yields no patch: an empty
// directory or quilt series file, or an mbox with no message carrying a
// diff (only a cover letter).
type EmptySeriesError struct{ Dir string }

func (e *EmptySeriesError) Error() string {
	return fmt.Sprintf("series %s holds no patches (the unpatched kernel is --revision baseline)", e.Dir)
}

// hasDiff reports whether a patch text holds at least one file diff: a
// "--- " line followed by a "+++ " line, then a hunk header, or a git diff
// header (a rename or mode change has no hunk).
func hasDiff(b []byte) bool {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "diff --git ") {
			return true
		}
		if strings.HasPrefix(l, "--- ") && i+2 < len(lines) && strings.HasPrefix(lines[i+1], "+++ ") && strings.HasPrefix(lines[i+2], "@@ ") {
			return true
		}
	}
	return false
}

func readSeries(dir string) (Series, error) {
	s := Series{Dir: dir}
	if st, err := os.Stat(dir); err == nil && st.Mode().IsRegular() {
		b, err := os.ReadFile(dir)
		if err != nil {
			return s, err
		}
		if bytes.HasPrefix(b, []byte("From ")) {
			s.Patches = splitMbox(filepath.Base(dir), b)
		} else {
			s.Patches = []Patch{{Name: filepath.Base(dir), Subject: subject(b), Body: b}}
		}
		return s, nil
	}
	if b, err := os.ReadFile(filepath.Join(dir, "series")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for ln := 1; sc.Scan(); ln++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Fields(line)
			if len(f) > 1 && f[1] != "-p1" {
				return s, fmt.Errorf("%s/series:%d: only -p1 patches are supported, got %q", dir, ln, line)
			}
			body, err := os.ReadFile(filepath.Join(dir, f[0]))
			if err != nil {
				return s, fmt.Errorf("%s/series:%d: %w", dir, ln, err)
			}
			s.Patches = append(s.Patches, Patch{Name: f[0], Subject: subject(body), Body: body})
		}
		return s, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return s, fmt.Errorf("series %s: %w", dir, err)
	}
	var patches, mboxes []string
	for _, e := range ents {
		switch {
		case e.IsDir():
		case strings.HasSuffix(e.Name(), ".patch") || strings.HasSuffix(e.Name(), ".diff"):
			patches = append(patches, e.Name())
		case strings.HasSuffix(e.Name(), ".mbox") || strings.HasSuffix(e.Name(), ".mbx"):
			mboxes = append(mboxes, e.Name())
		}
	}
	switch {
	case len(patches) > 0 && len(mboxes) > 0:
		return s, fmt.Errorf("series %s: holds both .patch files and an mbox; keep one form", dir)
	case len(mboxes) > 1:
		return s, fmt.Errorf("series %s: more than one mbox (%s)", dir, strings.Join(mboxes, ", "))
	case len(mboxes) == 1:
		b, err := os.ReadFile(filepath.Join(dir, mboxes[0]))
		if err != nil {
			return s, err
		}
		s.Patches = splitMbox(mboxes[0], b)
		return s, nil
	}
	sort.Strings(patches) // format-patch numbers them 0001-, 0002-, ...
	for _, n := range patches {
		body, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return s, err
		}
		s.Patches = append(s.Patches, Patch{Name: n, Subject: subject(body), Body: body})
	}
	return s, nil
}

var mboxFrom = regexp.MustCompile(`(?m)^From \S+ .*$`)

// splitMbox splits an mbox into its messages and keeps those carrying a
// diff (a cover letter has none), numbered as in the mbox.
func splitMbox(name string, b []byte) []Patch {
	idx := mboxFrom.FindAllIndex(b, -1)
	var out []Patch
	for i, loc := range idx {
		end := len(b)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		msg := b[loc[0]:end]
		if !bytes.Contains(msg, []byte("\n--- ")) || !bytes.Contains(msg, []byte("\n+++ ")) {
			continue
		}
		out = append(out, Patch{Name: fmt.Sprintf("%s#%d", name, i+1), Subject: subject(msg), Body: msg})
	}
	return out
}

// subject returns the Subject header, unfolded (long subjects continue on
// lines that start with white space).
func subject(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "Subject: ") {
			s := strings.TrimPrefix(line, "Subject: ")
			for _, next := range lines[i+1:] {
				if next == "" || (next[0] != ' ' && next[0] != '\t') {
					break
				}
				s += " " + strings.TrimSpace(next)
			}
			return s
		}
		if line == "" || strings.HasPrefix(line, "diff ") {
			break
		}
	}
	return ""
}

// Files lists the paths (relative to the tree) that the series touches.
func (s Series) Files() []string {
	set := map[string]bool{}
	for _, p := range s.Patches {
		for _, f := range patchFiles(p.Body) {
			set[f] = true
		}
	}
	var out []string
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

var diffTarget = regexp.MustCompile(`(?m)^(?:\+\+\+|---) (?:[ab]/)?(\S+)`)

func patchFiles(body []byte) []string {
	var out []string
	for _, m := range diffTarget.FindAllSubmatch(body, -1) {
		if f := string(m[1]); f != "/dev/null" {
			out = append(out, f)
		}
	}
	return out
}

// ApplyError says which patch, file and hunk did not apply.
type ApplyError struct {
	Patch  string
	File   string
	Hunk   int
	Line   int
	Output string
	// Rejected is the text of the rejected hunk (or of the fuzzy one).
	Rejected string
	// Fuzz is set when the patch applies, but only with this much fuzz.
	Fuzz int
}

var hunkFuzz = regexp.MustCompile(`^Hunk #(\d+) succeeded at (\d+) with fuzz (\d+)`)

// fuzzed returns an *ApplyError for the first hunk patch's output says it
// applied with fuzz, or nil.
func fuzzed(p Patch, out string) error {
	file := ""
	for _, line := range strings.Split(out, "\n") {
		if m := patchingFile.FindStringSubmatch(line); m != nil {
			file = m[1]
		}
		if m := hunkFuzz.FindStringSubmatch(line); m != nil {
			e := &ApplyError{Patch: p.Name, File: file, Output: strings.TrimSpace(out)}
			fmt.Sscan(m[1], &e.Hunk)
			fmt.Sscan(m[2], &e.Line)
			fmt.Sscan(m[3], &e.Fuzz)
			e.Rejected = hunkText(p.Body, file, e.Hunk)
			return e
		}
	}
	return nil
}

func (e *ApplyError) Error() string {
	if e.Fuzz > 0 {
		return fmt.Sprintf("patch %s applies only with fuzz: %s hunk #%d (at line %d) needs fuzz %d, its context no longer matches the source (--allow-fuzz accepts it)\nhunk:\n%s",
			e.Patch, e.File, e.Hunk, e.Line, e.Fuzz, e.Rejected)
	}
	msg := fmt.Sprintf("patch %s does not apply", e.Patch)
	if e.File != "" {
		msg += fmt.Sprintf(": %s hunk #%d (at line %d) FAILED", e.File, e.Hunk, e.Line)
	}
	if e.Rejected != "" {
		msg += "\nrejected hunk:\n" + e.Rejected
	} else {
		msg += "\n" + e.Output
	}
	return msg
}

var (
	patchingFile = regexp.MustCompile(`^(?:patching|checking) file (.+)$`)
	hunkFailed   = regexp.MustCompile(`^Hunk #(\d+) FAILED at (\d+)`)
)

// Stage applies the series to copies of just the files it touches, taken
// from base, in a fresh directory, and returns that directory. Nothing in
// base changes, so `series check` needs no work tree.
//
// On an error the directory is removed and "" returned.
func (s Series) Stage(ctx context.Context, base string) (string, error) {
	dir, err := s.stage(ctx, base)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func (s Series) stage(ctx context.Context, base string) (string, error) {
	dir, err := os.MkdirTemp("", "iomapct-series-")
	if err != nil {
		return "", err
	}
	for _, f := range s.Files() {
		b, err := os.ReadFile(filepath.Join(base, f))
		if os.IsNotExist(err) {
			continue // created by the series
		} else if err != nil {
			return dir, err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			return dir, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return dir, err
		}
	}
	for _, p := range s.Patches {
		if err := applyPatch(ctx, dir, p, s.AllowFuzz); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// applyPatch dry-runs first so a failing patch leaves no half-applied files
// and its report names the first failing hunk.
func applyPatch(ctx context.Context, dir string, p Patch, allowFuzz bool) error {
	run := func(extra ...string) (string, error) {
		args := append([]string{"-p1", "--batch", "--forward", "--no-backup-if-mismatch", "-r", "-", "-d", dir}, extra...)
		cmd := exec.CommandContext(ctx, "patch", args...)
		cmd.Stdin = bytes.NewReader(p.Body)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("--dry-run")
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("applying %s needs the patch tool, which is not on PATH (apt-get install patch): %w", p.Name, err)
	}
	if err == nil && !allowFuzz {
		if e := fuzzed(p, out); e != nil {
			return e
		}
	}
	if err != nil {
		e := &ApplyError{Patch: p.Name, Output: strings.TrimSpace(out)}
		file := ""
		for _, line := range strings.Split(out, "\n") {
			if m := patchingFile.FindStringSubmatch(line); m != nil {
				file = m[1]
			}
			if m := hunkFailed.FindStringSubmatch(line); m != nil && e.File == "" {
				e.File = file
				fmt.Sscan(m[1], &e.Hunk)
				fmt.Sscan(m[2], &e.Line)
				e.Rejected = hunkText(p.Body, file, e.Hunk)
			}
		}
		return e
	}
	if out, err := run(); err != nil {
		return fmt.Errorf("patch %s: %v\n%s", p.Name, err, out)
	}
	return nil
}

// hunkText extracts hunk number n (1-based) of file from a patch.
func hunkText(body []byte, file string, n int) string {
	lines := strings.Split(string(body), "\n")
	in, count := false, 0
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "+++ ") {
			f := strings.Fields(l)
			in = len(f) > 1 && strings.TrimPrefix(f[1], "b/") == file
			continue
		}
		if !in {
			continue
		}
		if strings.HasPrefix(l, "@@") {
			count++
			if count > n {
				break
			}
		}
		if strings.HasPrefix(l, "diff ") {
			break
		}
		if count == n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
