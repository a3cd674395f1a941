package runner

import (
	"errors"
	"fmt"

	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
)

// validateCases runs every case of the matrix through Validate and the
// reference model, without a kernel: an op the model refuses (an offset
// past its limit, a length that wraps) is an error before anything boots,
// not a guest that dies on it or a verdict that cannot be made.
//
// It also checks that the mkfs and fsck tools of every filesystem are there.
func validateCases(o Options) error {
	if err := CheckMatrix(o.Matrix); err != nil {
		return err
	}
	for _, t := range o.Matrix {
		if err := mkfs.NeedTools(t.FS); err != nil {
			return err
		}
	}
	for _, t := range o.Matrix {
		for _, c := range o.Cases {
			if !c.AppliesTo(t.FS) {
				continue
			}
			ops, err := c.Ops(t.BlockSize)
			if err != nil {
				return err
			}
			// Whether the kernel gives large folios is known only once
			// it is built: a geometry either way will do to check ops.
			g := geometry(t, false)
			if _, err := reference.New(g); err != nil {
				g = geometry(t, true)
				if _, err := reference.New(g); err != nil {
					return fmt.Errorf("%s: the model cannot judge this block size: %w", t.Name(), err)
				}
			}
			// A set of models, as the judge uses: cross-file ops
			// (clone, copyrange) need the case's other files.
			if _, err := reference.RunSet(g, ops); errors.Is(err, reference.ErrInvalid) {
				return fmt.Errorf("case %s on %s, %w", c.Name, t.Name(), err)
			}
		}
	}
	return nil
}
