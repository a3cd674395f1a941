package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk/mkfs"
)

// ImageSize is the size of a test image: small, so poisoning, copying
// and reading it is quick, yet big enough for the catalogue; a plan whose
// files need more (many random sequences) gets more (DiskImageSize).
const ImageSize = 64 << 20

// makePlan lists every image's cases, keeps the shard's part when the run
// is sharded (rep.Shard says which), and makes the images that are left.
func makePlan(ctx context.Context, o Options, rep *Report) (*cases.Plan, error) {
	plan, err := planCases(o)
	if err != nil {
		return nil, err
	}
	if o.Shard != nil {
		info := shardPlan(plan, *o.Shard)
		rep.Shard = &info
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "images"), 0o755); err != nil {
		return nil, err
	}
	for i, d := range plan.Disks {
		plan.Disks[i].Device = fmt.Sprintf("/dev/vd%c", 'a'+i)
		if err := mkfs.Make(ctx, mkfs.Spec{FS: d.FS, BlockSize: d.BlockSize, Size: DiskImageSize(d), Path: imagePath(o.Out, d.Name)}); err != nil {
			return nil, fmt.Errorf("image %s: %w", d.Name, err)
		}
	}
	return plan, nil
}

// planCases is the whole run's plan, without images: every target with
// the cases that apply to it.
func planCases(o Options) (*cases.Plan, error) {
	plan := &cases.Plan{}
	for _, t := range o.Matrix {
		d := cases.DiskPlan{Name: t.Name(), FS: t.FS, BlockSize: t.BlockSize}
		for _, c := range o.Cases {
			if !c.AppliesTo(t.FS) {
				continue
			}
			ops, err := c.Ops(t.BlockSize)
			if err != nil {
				return nil, err
			}
			r, err := raceOf(c, t.BlockSize)
			if err != nil {
				return nil, err
			}
			for k := 0; k < max(1, o.Repeat); k++ {
				name := RepeatName(c.Name, k)
				d.Files = append(d.Files, cases.FilePlan{Case: name, File: name, Ops: ops, Race: r})
			}
		}
		plan.Disks = append(plan.Disks, d)
	}
	return plan, nil
}
