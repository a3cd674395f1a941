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

// Catalogue lists the deterministic cases.
var Catalogue = []Case{
	{
		Name: "straddle-beyond-eof",
		Doc: "pwrite into an empty file that starts beyond EOF and straddles a block boundary: " +
			"the gap reads as zero, the partial blocks are zeroed not read, the EOF tail is zero",
		Gen: func(bs int64) []Op {
			return []Op{
				{Kind: PWrite, Off: 2*bs + bs - 100, Len: 300},
				{Kind: Fsync},
			}
		},
	},
}

// Lookup finds a catalogue case by name.
func Lookup(name string) (Case, bool) {
	for _, c := range Catalogue {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}
