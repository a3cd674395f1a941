package judge

import (
	"fmt"
	"slices"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/reference"
)

// Several files per case: the guest reports file 0 in the Result itself
// and the others in Result.Files; each is judged like the only file of a
// single-file case, its failures prefixed with its name.

// fileIno is the inode the guest reported for file i.
func fileIno(res cases.Result, i int) (uint64, bool) {
	if i == 0 {
		return res.Ino, res.Ino != 0
	}
	for _, f := range res.Files {
		if f.Index == i {
			return f.Ino, f.Ino != 0
		}
	}
	return 0, false
}

// fileTrace is the callout trace the guest recorded for file i.
func fileTrace(res cases.Result, i int) []string {
	if i == 0 {
		return res.Trace
	}
	for _, f := range res.Files {
		if f.Index == i {
			return f.Trace
		}
	}
	return nil
}

// filePrefix starts the failure messages of file i; file 0 has none, so a
// single-file case reads as before.
func filePrefix(name string, i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprintf("file %d (%s): ", i, cases.FileName(name, i))
}

// checkReturned compares the values the guest reported for the ops whose
// result the model predicts: dedupe's status (same or differs) and the
// bytes copy_file_range copied.
func checkReturned(v *Verdict, s *reference.Set, ops []cases.Op, returned []int64) {
	for i, op := range ops {
		want, ok := s.Returned(i)
		if !ok || i >= len(returned) || returned[i] == want {
			continue
		}
		what := "returned"
		if op.Kind == cases.Dedupe {
			what = "reported dedupe status (0 same, 1 differs)"
		}
		v.Failf("returned", -1, "op %d (%s) %s %d, the model expects %d", i, op, what, returned[i], want)
	}
}

// checkFilesCallouts compares every file's recorded callouts with its
// model's; failures of file N > 0 name the file.
func checkFilesCallouts(v *Verdict, s *reference.Set, ops []cases.Op, res cases.Result, hook reference.PostFolioHook) {
	for _, i := range s.Files() {
		sub := Verdict{Status: Pass}
		rest, un, err := splitUnshare(fileTrace(res, i))
		if err != nil {
			sub.Failf("callouts", -1, "cannot read the recorded trace: %v", err)
		} else {
			checkCalloutsWith(&sub, s.File(i), ops, rest, hook)
			checkUnshare(&sub, s.File(i), ops, i, un)
		}
		for _, fl := range sub.Failures {
			fl.Msg = filePrefix(res.File, i) + fl.Msg
			v.Failures = append(v.Failures, fl)
		}
		if sub.Status != Pass && v.Status != Error {
			v.Status = sub.Status
		}
	}
}

// checkSharing holds the physical block map against the model's share
// groups (xfs with reflink, the only filesystem that shares blocks): the
// blocks of a group must map to one physical block, and a block that left
// a group (copied on write, unshared, remapped, freed and written again)
// must map elsewhere than the group's remaining members. Only blocks the
// model says are mapped below EOF are asked about.
func checkSharing(v *Verdict, t Target, s *reference.Set, rd ondisk.Reader, inos map[int]uint64) {
	groups, apart := s.SharedGroups(), s.Apart()
	if !filesystems.Get(t.FS).Caps.Reflink || len(s.Files()) < 2 && len(groups) == 0 && len(apart) == 0 {
		return
	}
	maps := map[int]*ondisk.Inode{}
	for i, ino := range inos {
		in, err := rd.Inode(ino)
		if err != nil {
			v.Errorf("image", "inode %d: %v", ino, err)
			return
		}
		maps[i] = in
	}
	phys := func(b reference.BlockRef) (uint64, bool) {
		for _, e := range maps[b.File].Extents {
			if uint64(b.Block) >= e.Logical && uint64(b.Block) < e.Logical+e.Count && (e.Kind == ondisk.Data || e.Kind == ondisk.Unwritten) {
				return e.Physical + uint64(b.Block) - e.Logical, true
			}
		}
		return 0, false
	}
	name := func(b reference.BlockRef) string {
		if b.File == 0 {
			return fmt.Sprintf("block %d", b.Block)
		}
		return fmt.Sprintf("file %d block %d", b.File, b.Block)
	}
	for _, g := range groups {
		p0, ok0 := phys(g[0])
		for _, b := range g[1:] {
			p, ok := phys(b)
			if !ok0 || !ok || p != p0 {
				v.Failf("sharing", b.Block*t.BlockSize, "%s and %s must share one physical block (the model: shared since a clone/dedupe/copy_file_range remap), on disk %s and %s",
					name(g[0]), name(b), physName(p0, ok0), physName(p, ok))
				return
			}
		}
	}
	if a, b, p, ok := sharedOutsideGroups(maps, s.Group); ok {
		v.Failf("sharing", b.Block*t.BlockSize, "%s and %s both map to physical block %d; the model shares no block between them",
			name(a), name(b), p)
		return
	}
	for _, pr := range apart {
		p, ok := phys(pr[0])
		q, okq := phys(pr[1])
		if ok && okq && p == q {
			v.Failf("sharing", pr[0].Block*t.BlockSize, "%s still maps to physical block %d, shared with %s; the model says it got its own block (copy on write or unshare)",
				name(pr[0]), p, name(pr[1]))
			return
		}
	}
}

func physName(p uint64, ok bool) string {
	if !ok {
		return "unmapped"
	}
	return fmt.Sprintf("physical %d", p)
}

// sharedOutsideGroups finds two mapped blocks of the case's files that use
// one physical block although the model puts them in different share
// groups (or in none): only a remap shares blocks, and writes, unshares
// and frees give a block its own again.
func sharedOutsideGroups(maps map[int]*ondisk.Inode, group func(f int, b int64) int32) (a, b reference.BlockRef, p uint64, found bool) {
	type owner struct {
		ref   reference.BlockRef
		group int32
	}
	seen := map[uint64]owner{}
	files := make([]int, 0, len(maps))
	for f := range maps {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, f := range files {
		for _, e := range maps[f].Extents {
			if e.Kind != ondisk.Data && e.Kind != ondisk.Unwritten {
				continue
			}
			for k := uint64(0); k < e.Count; k++ {
				ref := reference.BlockRef{File: f, Block: int64(e.Logical + k)}
				g := group(f, ref.Block)
				if o, dup := seen[e.Physical+k]; dup && (g == 0 || o.group != g) {
					return o.ref, ref, e.Physical + k, true
				}
				seen[e.Physical+k] = owner{ref, g}
			}
		}
	}
	return a, b, 0, false
}
