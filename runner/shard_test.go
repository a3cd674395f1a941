package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// catalogueTargets is the default matrix's plan, without images.
func cataloguePlan(t *testing.T, random int) *cases.Plan {
	t.Helper()
	cs := append([]cases.Case{}, cases.Catalogue...)
	if random > 0 {
		var seeds []int64
		for i := range random {
			seeds = append(seeds, int64(1+i))
		}
		for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
			cs = append(cs, cases.RandomCases(fs, seeds, 40)...)
		}
	}
	p, err := planCases(Options{Matrix: DefaultMatrix(), Cases: cs})
	require.NoError(t, err)
	return p
}

func pairKeys(p *cases.Plan) []string {
	var out []string
	for _, d := range p.Disks {
		for _, f := range d.Files {
			out = append(out, d.Name+"/"+f.Case)
		}
	}
	return out
}

func clonePlan(p *cases.Plan) *cases.Plan {
	b, _ := json.Marshal(p)
	var q cases.Plan
	json.Unmarshal(b, &q)
	return &q
}

// Every pair lands in exactly one shard, the shards agree on the plan, and
// the work is spread evenly.
func TestShardPlanPartitions(t *testing.T) {
	whole := cataloguePlan(t, 20)
	all := pairKeys(whole)
	for _, n := range []int{1, 2, 3, 4, 7} {
		owner := map[string]int{}
		var plans []string
		var costs []int
		for i := range n {
			p := clonePlan(whole)
			info := shardPlan(p, Shard{Index: i, Total: n})
			plans = append(plans, info.Plan)
			assert.Equal(t, len(all), info.Pairs)
			assert.Equal(t, len(pairKeys(p)), info.Kept)
			cost := 0
			for _, d := range p.Disks {
				assert.NotEmpty(t, d.Files, "shard %d/%d keeps an empty disk %s", i, n, d.Name)
				for _, f := range d.Files {
					cost += (len(f.Ops) + 4) * fsCost[d.FS]
				}
			}
			costs = append(costs, cost)
			for _, k := range pairKeys(p) {
				prev, dup := owner[k]
				require.False(t, dup, "pair %s in shards %d and %d of %d", k, prev, i, n)
				owner[k] = i
			}
		}
		assert.Len(t, owner, len(all), "with %d shards some pairs ran nowhere", n)
		for _, id := range plans {
			assert.Equal(t, plans[0], id)
		}
		lo, hi := costs[0], costs[0]
		for _, c := range costs {
			lo, hi = min(lo, c), max(hi, c)
		}
		// Greedy largest-first: no shard exceeds another by more than the
		// costliest single pair.
		assert.LessOrEqual(t, hi-lo, 50*240, "shard costs %v with %d shards", costs, n)
	}
}

// The partition depends on the plan only: the same shard of the same plan
// is the same, whatever order the pairs were listed in within a disk.
func TestShardPlanIsDeterministic(t *testing.T) {
	a, b := cataloguePlan(t, 5), cataloguePlan(t, 5)
	shardPlan(a, Shard{Index: 2, Total: 4})
	shardPlan(b, Shard{Index: 2, Total: 4})
	assert.Empty(t, cmp.Diff(pairKeys(a), pairKeys(b)))
	// Other flags, other plan: merge must be able to tell.
	c := cataloguePlan(t, 6)
	assert.NotEqual(t, shardPlan(a, Shard{Total: 1}).Plan, shardPlan(c, Shard{Total: 1}).Plan)
}

func TestParseShard(t *testing.T) {
	s, err := ParseShard("3/4")
	require.NoError(t, err)
	assert.Equal(t, Shard{Index: 3, Total: 4, From: "--shard"}, s)
	for _, bad := range []string{"4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", ""} {
		_, err := ParseShard(bad)
		assert.Error(t, err, bad)
	}
}

func TestShardFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	_, ok, err := ShardFromEnv(env())
	assert.False(t, ok)
	assert.NoError(t, err)

	// GitLab's index is 1-based.
	s, ok, err := ShardFromEnv(env("CI_NODE_INDEX", "1", "CI_NODE_TOTAL", "3"))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 0, s.Index)
	assert.Equal(t, 3, s.Total)
	s, _, err = ShardFromEnv(env("CI_NODE_INDEX", "3", "CI_NODE_TOTAL", "3"))
	require.NoError(t, err)
	assert.Equal(t, 2, s.Index)
	_, _, err = ShardFromEnv(env("CI_NODE_INDEX", "4", "CI_NODE_TOTAL", "3"))
	assert.ErrorContains(t, err, "shard 3 of 3")

	// Kubernetes: 0-based, total from the Job spec by hand.
	s, _, err = ShardFromEnv(env("JOB_COMPLETION_INDEX", "0", "IOMAPCT_SHARD_TOTAL", "4"))
	require.NoError(t, err)
	assert.Equal(t, Shard{Index: 0, Total: 4, From: "Kubernetes JOB_COMPLETION_INDEX/IOMAPCT_SHARD_TOTAL"}, s)
	_, _, err = ShardFromEnv(env("JOB_COMPLETION_INDEX", "0"))
	assert.ErrorContains(t, err, "IOMAPCT_SHARD_TOTAL")
	_, _, err = ShardFromEnv(env("JOB_COMPLETION_INDEX", "x", "IOMAPCT_SHARD_TOTAL", "4"))
	assert.ErrorContains(t, err, `JOB_COMPLETION_INDEX="x"`)
}

// writeShard saves a shard's report as a run would.
func writeShard(t *testing.T, dir string, r Report) string {
	t.Helper()
	d := filepath.Join(dir, fmt.Sprintf("shard-%d", r.Shard.Index))
	require.NoError(t, os.MkdirAll(d, 0o755))
	r.Out = d
	require.NoError(t, WriteReports(&r))
	return d
}

func shardReport(i, n, kept int, vs ...Verdict) Report {
	return Report{Revision: "baseline", SourceID: "src", SeriesID: "ser", KernelKey: "k1",
		Shard: &ShardInfo{Shard: Shard{Index: i, Total: n}, Plan: "p1", Pairs: 3, Kept: kept}, Verdicts: vs}
}

func TestMergeShards(t *testing.T) {
	dir := t.TempDir()
	d0 := writeShard(t, dir, shardReport(0, 2, 2,
		Verdict{Disk: "ext2-1k", Case: "a", Status: Pass},
		Verdict{Disk: "xfs-1k", Case: "b", Status: Pass},
		Verdict{Disk: "ext2-1k", Case: fsckCase, Status: Pass},
		Verdict{Disk: "xfs-1k", Case: fsckCase, Status: Pass}))
	d1 := writeShard(t, dir, shardReport(1, 2, 1,
		Verdict{Disk: "ext2-1k", Case: "c", Status: Fail, Failures: []Failure{{Check: "content", Offset: 1}}},
		Verdict{Disk: "ext2-1k", Case: fsckCase, Status: Fail, Failures: []Failure{{Check: "fsck", Offset: -1, Msg: "bad"}}}))
	m, err := Merge([]string{d1, d0})
	require.NoError(t, err)
	var got []string
	for _, v := range m.Verdicts {
		got = append(got, fmt.Sprintf("%s %s %s %d", v.Disk, v.Case, v.Status, len(v.Failures)))
	}
	// One unmount+fsck verdict per image, the worse of the shards'.
	assert.Empty(t, cmp.Diff([]string{
		"ext2-1k (unmount+fsck) FAIL 1",
		"ext2-1k a PASS 0",
		"ext2-1k c FAIL 1",
		"xfs-1k (unmount+fsck) PASS 0",
		"xfs-1k b PASS 0",
	}, got))
	assert.False(t, m.Passed())
	assert.Equal(t, 3, m.Shard.Kept)
}

func TestMergeRefusesIncompleteOrForeignShards(t *testing.T) {
	dir := t.TempDir()
	ok := Verdict{Disk: "ext2-1k", Case: "a", Status: Pass}
	d0 := writeShard(t, dir, shardReport(0, 3, 1, ok))
	d2 := writeShard(t, dir, shardReport(2, 3, 1, ok))
	_, err := Merge([]string{d0, d2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shard(s) 1 of 3 missing")

	_, err = Merge([]string{d0, d0, d2})
	assert.ErrorContains(t, err, "shard 0/3 given twice")

	other := shardReport(1, 3, 1, ok)
	other.KernelKey = "k2"
	d1 := writeShard(t, filepath.Join(dir, "other"), other)
	_, err = Merge([]string{d0, d1, d2})
	assert.ErrorContains(t, err, `has kernel "k1"`)

	plain := Report{Revision: "baseline", Verdicts: []Verdict{ok}}
	pd := filepath.Join(dir, "plain")
	require.NoError(t, os.MkdirAll(pd, 0o755))
	plain.Out = pd
	require.NoError(t, WriteReports(&plain))
	_, err = Merge([]string{pd})
	assert.ErrorContains(t, err, "is not a shard")

	_, err = Merge([]string{filepath.Join(dir, "nope")})
	assert.ErrorContains(t, err, "nope")
}
