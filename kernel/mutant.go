package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/iomapct/iomapct/filesystems"
)

// Mutant is a single-bug patch the suite must catch (kernel/mutants/): a
// realistic mistake in the code the suite covers, described in its
// Subject and body, with trailers that say how to run it:
//
//	Mutant-Kills: content        the check expected to catch it
//	Mutant-FS: xfs,gfs2          the filesystems whose code it changes
//	Mutant-Base: v2              optional: a revision of the series it applies on top of
//	Mutant-Needs: read           optional: a check family the suite must have to catch it
type Mutant struct {
	// Name is the file name without .patch.
	Name string
	// Subject is the one-line description (without "[MUTANT] ").
	Subject string
	Kills   string
	FS      []string
	Base    string
	Needs   string
	Patch   Patch
}

// ReadMutants reads every *.patch of dir as a mutant, sorted by name. A
// mutant without Mutant-Kills and Mutant-FS is an error naming its file.
func ReadMutants(dir string) ([]Mutant, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	var out []Mutant
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".patch") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		m, err := parseMutant(strings.TrimSuffix(e.Name(), ".patch"), b)
		if err != nil {
			return nil, fmt.Errorf("mutant %s: %w", path, err)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mutants: no *.patch in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func parseMutant(name string, b []byte) (Mutant, error) {
	m := Mutant{Name: name, Patch: Patch{Name: name + ".patch", Subject: subject(b), Body: b}}
	m.Subject = strings.TrimPrefix(m.Patch.Subject, "[MUTANT] ")
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- a/") {
			break // the trailers end where the diff starts
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Mutant-Kills":
			m.Kills = val
		case "Mutant-FS":
			m.FS = strings.Split(val, ",")
		case "Mutant-Base":
			m.Base = val
		case "Mutant-Needs":
			m.Needs = val
		}
	}
	switch {
	case m.Subject == "":
		return m, fmt.Errorf("no Subject line (the one-line description)")
	case m.Kills == "":
		return m, fmt.Errorf("no Mutant-Kills trailer (the check expected to catch it)")
	case len(m.FS) == 0:
		return m, fmt.Errorf("no Mutant-FS trailer (the filesystems it changes)")
	}
	for _, f := range m.FS {
		if _, err := filesystems.Lookup(f); err != nil {
			return m, fmt.Errorf("Mutant-FS: %w", err)
		}
	}
	return m, nil
}

// Series is the series that builds the mutant: base (the revision it
// names in Mutant-Base, empty for the unpatched kernel) plus the mutant.
func (m Mutant) Series(base Series) Series {
	s := Series{Dir: base.Dir, Patches: append(append([]Patch(nil), base.Patches...), m.Patch)}
	return s
}
