package gfs2

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	rgHeadRE   = regexp.MustCompile(`(?m)^RG #\d+$`)
	rgHeaderRE = regexp.MustCompile(`(?m)^RG #\d+ located at: \d+.*$`)
)

// editRindex parses the "RG #n" entries of `gfs2_edit -p rindex`.
func editRindex(t *testing.T, out string) []Rgrp {
	var rgs []Rgrp
	idx := rgHeadRE.FindAllStringIndex(out, -1)
	for i, m := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		f := editFields(out[m[1]:end])
		rgs = append(rgs, Rgrp{
			Addr:     editUint(t, f, "ri_addr"),
			Length:   uint32(editUint(t, f, "ri_length")),
			Data0:    editUint(t, f, "ri_data0"),
			Data:     uint32(editUint(t, f, "ri_data")),
			BitBytes: uint32(editUint(t, f, "ri_bitbytes")),
		})
	}
	return rgs
}

// blockAlloc asks gfs2_edit for block n's bitmap state; -1 means the block
// is an rgrp header or outside every bitmap.
func blockAlloc(t *testing.T, img string, n uint64) int {
	// gfs2_edit exits non-zero after printing -1, so its status is not
	// checked: the printed state is.
	raw, _ := exec.Command("gfs2_edit", "-p", strconv.FormatUint(n, 10), "blockalloc", img).CombinedOutput()
	out := strings.TrimSpace(string(raw))
	require.NotEmpty(t, out, "blockalloc %d printed nothing", n)
	v, err := strconv.Atoi(strings.Fields(out)[0])
	require.NoError(t, err, "blockalloc %d: %q", n, out)
	return v
}

func TestRgrpsMatchGfs2Edit(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		fs := openImage(t, img)
		out := gfs2Edit(t, img, "rindex", "rgs")
		split := strings.Index(out, "RG List")
		require.Positive(t, split, "gfs2_edit -p rgs printed no RG List")
		want := editRindex(t, out[:split])
		require.NotEmpty(t, want)
		headers := rgHeaderRE.FindAllStringIndex(out, -1)
		got := fs.Rgrps()
		require.Len(t, headers, len(got))
		for i := range got {
			end := len(out)
			if i+1 < len(headers) {
				end = headers[i+1][0]
			}
			h := editFields(out[headers[i][1]:end])
			assert.Equal(t, editUint(t, h, "rg_free"), uint64(got[i].Free), "rg %d", i)
			assert.Equal(t, editUint(t, h, "rg_dinodes"), uint64(got[i].Dinodes), "rg %d", i)
			assert.Equal(t, editUint(t, h, "rg_flags"), uint64(got[i].Flags), "rg %d", i)
			got[i].Free, got[i].Dinodes, got[i].Flags = 0, 0, 0
		}
		assert.Empty(t, cmp.Diff(want, got))
		last := want[len(want)-1]
		assert.Equal(t, last.Data0+uint64(last.Data), fs.Blocks())
	})
}

// TestBlockStateMatchesGfs2Edit checks the bitmaps three ways: the counts
// against each rgrp header, and sampled blocks (every dinode, tree blocks,
// rgrp edges, free space) against gfs2_edit's blockalloc.
func TestBlockStateMatchesGfs2Edit(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		fs := openImage(t, img)
		samples := map[uint64]bool{}
		for _, rg := range fs.Rgrps() {
			states, err := fs.Bitmap(rg)
			require.NoError(t, err)
			require.Len(t, states, int(rg.Data))
			counts := map[State]uint32{}
			firstFree := -1
			for i, s := range states {
				counts[s]++
				if s == Free && firstFree < 0 {
					firstFree = i
				}
			}
			assert.Equal(t, rg.Free, counts[Free], "rgrp %d free", rg.Addr)
			assert.Equal(t, rg.Dinodes, counts[Dinode], "rgrp %d dinodes", rg.Addr)
			// Every state read one by one agrees with the bulk bitmap.
			for i, s := range states {
				st, err := fs.BlockState(rg.Data0 + uint64(i))
				require.NoError(t, err)
				require.Equal(t, s, st, "block %d", rg.Data0+uint64(i))
			}
			if firstFree >= 0 {
				samples[rg.Data0+uint64(firstFree)] = true
			}
			// Header blocks have no state.
			_, err = fs.BlockState(rg.Addr)
			assert.Error(t, err)
		}
		assert.Equal(t, -1, blockAlloc(t, img, fs.Rgrps()[0].Addr))
		// gfs2_edit answers one block a run, each run slow on a loaded
		// machine: sample a dinode, an indirect block and a data block of
		// journal0, and the first free block of every rgrp.
		ino, err := fs.LookupMaster("jindex/journal0")
		require.NoError(t, err)
		m, err := fs.Map(ino)
		require.NoError(t, err)
		samples[ino] = true
		samples[m.Indirect[0]] = true
		samples[m.Extents[0].Physical] = true
		kinds := map[State]int{}
		for n := range samples {
			st, err := fs.BlockState(n)
			require.NoError(t, err, "block %d", n)
			kinds[st]++
			assert.Equal(t, blockAlloc(t, img, n), int(st), "block %d", n)
		}
		t.Logf("sampled %d blocks: %v", len(samples), kinds)
		assert.Positive(t, kinds[Free])
		assert.Positive(t, kinds[Used])
		assert.Positive(t, kinds[Dinode])
		_, err = fs.BlockState(fs.Blocks())
		assert.Error(t, err, fmt.Sprintf("block %d is past the end", fs.Blocks()))
	})
}
