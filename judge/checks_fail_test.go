package judge

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/ondisk/fake"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// judged is one case judged end to end (judge, with its records and a real
// image for fsck) where the file itself is read from a fake image that
// holds exactly what the model predicts, until a test changes it.
type judged struct {
	target Target
	ops    []cases.Op
	model  *reference.Model
	image  *fake.Reader
	file   *fake.File
	res    cases.Result
	disk   cases.DiskResult
	// imagePath is the real image the fsck check runs on.
	imagePath string
}

const fakeIno = 12

// newJudged runs the model on ops and builds the fake image from it.
func newJudged(t *testing.T, tg Target, images map[string]string, lines ...string) *judged {
	t.Helper()
	j := &judged{target: tg, imagePath: images[tg.FS]}
	for _, l := range lines {
		op, err := cases.ParseOp(l)
		require.NoError(t, err)
		j.ops = append(j.ops, op)
	}
	m, err := reference.Run(Geometry(tg, false), j.ops)
	require.NoError(t, err)
	j.model = m
	in := ondisk.Inode{Size: m.Size()}
	in.Inline, _ = m.Stuffed()
	for _, b := range m.Blocks() {
		kind := map[reference.BlockState]ondisk.Kind{reference.Data: ondisk.Data, reference.AllocatedZero: ondisk.Unwritten, reference.Inline: ondisk.Inline}
		if k, ok := kind[b.State]; ok {
			in.Extents = append(in.Extents, ondisk.Extent{Logical: uint64(b.Index), Physical: 100 + uint64(b.Index), Count: 1, Kind: k})
		}
	}
	tail := make([]byte, (tg.BlockSize-m.Size()%tg.BlockSize)%tg.BlockSize)
	j.file = &fake.File{Inode: in, Data: m.Content(), Tail: tail}
	j.image = &fake.Reader{FS: tg.FS, Block: int(tg.BlockSize), Files: map[uint64]*fake.File{fakeIno: j.file}}
	j.res = cases.Result{Ino: fakeIno, Size: m.Size(), OpsDone: len(j.ops), Returned: make([]int64, len(j.ops))}
	for i, op := range j.ops {
		if op.Kind == cases.ShortCopy {
			j.res.Returned[i] = op.Copied
		}
	}
	return j
}

// verdicts judges the case: the case's verdict and its disk's.
func (j *judged) verdicts(t *testing.T) (Verdict, Verdict) {
	t.Helper()
	out := t.TempDir()
	disk := j.target.Name()
	require.NoError(t, os.MkdirAll(filepath.Join(out, "images"), 0o755))
	// judge only reads the image (fsck -n): a link to it will do.
	require.NoError(t, os.Symlink(j.imagePath, ImagePath(out, disk)))
	saved := openImage
	openImage = func(string, *os.File) (ondisk.Reader, error) { return j.image, nil }
	t.Cleanup(func() { openImage = saved })

	fp := cases.FilePlan{Case: "c", File: "c", Ops: j.ops}
	p := &cases.Plan{Disks: []cases.DiskPlan{{Name: disk, FS: j.target.FS, BlockSize: j.target.BlockSize, Files: []cases.FilePlan{fp}}}}
	j.res.Disk, j.res.Case, j.res.File = disk, "c", "c"
	j.disk.Disk = disk
	res, err := json.Marshal(j.res)
	require.NoError(t, err)
	dr, err := json.Marshal(j.disk)
	require.NoError(t, err)
	records := []proto.Record{{Type: proto.Result, Name: disk + "/c", Data: res}, {Type: proto.Unmount, Name: disk, Data: dr}}
	o := Config{Out: out, Revision: "baseline"}
	vs := Judge(context.Background(), o, p, records, NewCalloutCheck(nil))
	require.Len(t, vs, 2)
	byCase := map[string]Verdict{}
	for _, v := range vs {
		byCase[v.Case] = v
	}
	return byCase["c"], byCase["(unmount+fsck)"]
}

// cleanImages makes one freshly formatted image per filesystem with the
// production mkfs arguments: fsck passes on them.
func cleanImages(t *testing.T, fss ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	for _, fs := range fss {
		p := filepath.Join(dir, fs+".img")
		require.NoError(t, mkfs.Make(context.Background(), mkfs.Spec{FS: fs, BlockSize: 4096, Size: 32 << 20, Path: p}))
		out[fs] = p
	}
	return out
}

// Every check fails once, with its message, when the image (or the
// guest's record of the case) disagrees with the model in the one way the
// check is about; the unchanged image passes every check.
func TestEveryCheckFails(t *testing.T) {
	images := cleanImages(t, "ext4", "gfs2")
	ext4 := Target{FS: "ext4", BlockSize: 4096}
	gfs2 := Target{FS: "gfs2", BlockSize: 4096}
	// Block 0 data, blocks 1-2 holes, block 3 data ending in a short copy.
	base := []string{"pwrite 0x0 0x100", "pwrite 0x3000 0x10", "shortcopy 0x3010 0x20 copied=0x10"}
	warning, err := os.ReadFile("../vmtest/crash/testdata/warning.log")
	require.NoError(t, err)

	for _, tc := range []struct {
		check  Check
		target Target
		ops    []string
		// disk: the failure is on the disk's verdict, not the case's.
		disk   bool
		break_ func(t *testing.T, j *judged)
		offset int64
		msg    string
	}{
		{CheckHoles, ext4, base, false, func(t *testing.T, j *judged) {
			j.file.Inode.Extents = append(j.file.Inode.Extents, ondisk.Extent{Logical: 1, Physical: 7, Count: 1, Kind: ondisk.Data})
		}, 4096, "block 1 is data on disk; the model says it stays a hole"},
		{CheckHoles, ext4, base, false, func(t *testing.T, j *judged) {
			j.file.Inode.Extents = j.file.Inode.Extents[1:]
		}, 0, "block 0 is hole on disk; the model says it holds data (last written by op 0)"},
		{CheckEOFTail, ext4, base, false, func(t *testing.T, j *judged) { j.file.Tail[3] = 0xab },
			0x3020 + 3, "the on-disk EOF block holds non-zero bytes past EOF: ab"},
		{CheckStuffed, gfs2, []string{"pwrite 0x10 0x20"}, false, func(t *testing.T, j *judged) { j.file.Inode.Inline = false },
			-1, "gfs2 stuffed on disk = false, model = true"},
		{CheckSize, ext4, base, false, func(t *testing.T, j *judged) { j.file.Inode.Size++ },
			-1, "on-disk size 12321, model 12320"},
		{CheckShortCopy, ext4, base, false, func(t *testing.T, j *judged) { j.res.Returned[2] = 0x20 },
			-1, "op 2 (shortcopy 0x3010 0x20 copied=0x10) wrote 32 bytes, the model expects 16"},
		{CheckContent, ext4, base, false, func(t *testing.T, j *judged) { j.file.Data[0x3005] ^= 0xff },
			0x3005, "1 byte(s) differ in [12293, 12294)"},
		{CheckStaleData, ext4, base, false, func(t *testing.T, j *judged) { copy(j.file.Data[0x1000:], mkfs.Poison) },
			0x1000, `the free-space poison pattern "POISON!\n" is visible in the file`},
		{CheckConsole, ext4, base, false, func(t *testing.T, j *judged) { j.res.Kernel = strings.Split(string(warning), "\n") },
			-1, "kernel warning during the case: WARNING in lkdtm_WARNING"},
		{CheckUnmount, ext4, base, true, func(t *testing.T, j *judged) { j.disk.UnmountErr = "umount /mnt/ext4-4k: device or resource busy" },
			-1, "umount /mnt/ext4-4k: device or resource busy"},
		{CheckFsck, ext4, base, true, func(t *testing.T, j *judged) {
			// Zero the primary superblock's magic: e2fsck -n must object.
			f, err := os.OpenFile(j.imagePath, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte{0, 0}, 1024+0x38)
			require.NoError(t, err)
		}, -1, "e2fsck -f -n"},
	} {
		t.Run(string(tc.check), func(t *testing.T) {
			j := newJudged(t, tc.target, images, tc.ops...)
			cv, dv := j.verdicts(t)
			require.Equal(t, Pass, cv.Status, "the unchanged image passes: %v", cv.Failures)
			require.Equal(t, Pass, dv.Status, "the unchanged disk passes: %v", dv.Failures)

			if tc.check == CheckFsck {
				// Break a copy, not the image the other rows share.
				cp := filepath.Join(t.TempDir(), "broken.img")
				b, err := os.ReadFile(j.imagePath)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(cp, b, 0o644))
				j.imagePath = cp
			}
			tc.break_(t, j)
			cv, dv = j.verdicts(t)
			v := cv
			if tc.disk {
				v = dv
			}
			require.Equal(t, Fail, v.Status, "%v", v.Failures)
			var got *Failure
			for i := range v.Failures {
				if v.Failures[i].Check == tc.check {
					got = &v.Failures[i]
					break
				}
			}
			require.NotNil(t, got, "no %s failure in %v", tc.check, v.Failures)
			assert.Contains(t, got.Msg, tc.msg)
			assert.Equal(t, tc.offset, got.Offset)
			if tc.check != CheckStaleData { // poison is also a content failure
				assert.Len(t, v.Failures, 1, "only the broken check fails: %v", v.Failures)
			}
		})
	}
}
