package cases

import "fmt"

// Case is one deterministic scenario of the catalogue.
type Case struct {
	// Name is unique and stable; it names the file the guest writes.
	Name string
	// Doc says what the case exercises.
	Doc string
	// Only restricts the case to these filesystems; empty means all.
	Only []string
	// Gen returns the ops for a filesystem block size in bytes.
	Gen func(bs int64) []Op
	// Race, if set, makes the case concurrent: Gen's ops set the file up
	// and the race it returns runs after them (cases/concurrent.go).
	Race func(bs int64) *Race
}

// AppliesTo reports whether the case runs on filesystem fs.
func (c Case) AppliesTo(fs string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, f := range c.Only {
		if f == fs {
			return true
		}
	}
	return false
}

// Ops returns the validated ops for block size bs.
func (c Case) Ops(bs int64) ([]Op, error) {
	ops := c.Gen(bs)
	for i, o := range ops {
		if err := o.Validate(); err != nil {
			return nil, fmt.Errorf("case %s op %d: %w", c.Name, i, err)
		}
	}
	return ops, nil
}

// Catalogue lists the deterministic cases, theme by theme (one
// catalogue_*.go file per theme).
var Catalogue = seqCases(
	straddleCases,
	eofCases,
	truncateCases,
	rmwCases,
	fallocCases,
	gfs2Cases,
	iovCases,
	directMmapCases,
	largeCases,
	reflinkCases,
	copyRangeCases,
	multiFileCases,
	readCases,
	shiftCases,
	syncCases,
	coverageCases,
	RaceCore,
)

func seqCases(groups ...[]Case) []Case {
	var out []Case
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// Lookup finds a catalogue case by name.
func Lookup(name string) (Case, bool) {
	for _, c := range Catalogue {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range RaceCatalogue {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}
