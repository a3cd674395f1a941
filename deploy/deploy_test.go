// Package deploy holds no code: its tests check the CI workflow and the
// Kubernetes manifest that run iomapct in shards, so that a mistake in them
// shows here and not on somebody's cluster.
package deploy

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const workflow = "../.github/workflows/iomapct.yml"

// actionlint checks the workflow's syntax, expressions, job graph and
// action inputs.
func TestWorkflowLints(t *testing.T) {
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	require.NoError(t, err)
	errs, err := l.LintFile(workflow, nil)
	require.NoError(t, err)
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", workflow, e.Line, e.Column, e.Message, e.Kind)
	}
}

// The workflow builds once and fans out: the shards boot the exported
// kernel and name their index from the matrix, and the merge reads every
// shard (and fails on a missing one by itself).
func TestWorkflowFansOut(t *testing.T) {
	b, err := os.ReadFile(workflow)
	require.NoError(t, err)
	var wf struct {
		Jobs map[string]struct {
			Needs    any `json:"needs"`
			Strategy struct {
				Matrix struct {
					Shard []int `json:"shard"`
				} `json:"matrix"`
			} `json:"strategy"`
			Steps []struct {
				Run string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &wf))
	runs := func(job string) string {
		var s []string
		for _, st := range wf.Jobs[job].Steps {
			s = append(s, st.Run)
		}
		return strings.Join(s, "\n")
	}
	assert.Contains(t, runs("build"), "iomapct build --revision \"$REVISION\" --export kernel")
	assert.Equal(t, []int{0, 1, 2, 3}, wf.Jobs["shard"].Strategy.Matrix.Shard)
	assert.Contains(t, runs("shard"), "--kernel kernel")
	assert.Contains(t, runs("shard"), `--shard "${{ strategy.job-index }}/${{ strategy.job-total }}"`)
	assert.Equal(t, "build", wf.Jobs["shard"].Needs)
	assert.Equal(t, "shard", wf.Jobs["merge"].Needs)
	assert.Contains(t, runs("merge"), "iomapct merge --out merged shard-*")
}

// The manifest decodes strictly into Kubernetes' own API types (an unknown
// or misspelt field is an error), and the Indexed Job's size agrees with
// the total the shards are told.
func TestKubernetesManifest(t *testing.T) {
	b, err := os.ReadFile("kubernetes/iomapct-shards.yaml")
	require.NoError(t, err)
	jobs := map[string]*batchv1.Job{}
	claims := 0
	for _, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(b), -1) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 PersistentVolumeClaim":
			var pvc corev1.PersistentVolumeClaim
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &pvc))
			claims++
		case "batch/v1 Job":
			var j batchv1.Job
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &j), "job:\n%s", doc)
			jobs[j.Name] = &j
		default:
			t.Fatalf("unexpected object %s %s", meta.APIVersion, meta.Kind)
		}
	}
	assert.Equal(t, 1, claims)
	require.Contains(t, jobs, "iomapct-build")
	require.Contains(t, jobs, "iomapct-shards")
	require.Contains(t, jobs, "iomapct-merge")

	sh := jobs["iomapct-shards"].Spec
	require.NotNil(t, sh.CompletionMode)
	assert.Equal(t, batchv1.IndexedCompletion, *sh.CompletionMode)
	require.NotNil(t, sh.Completions)
	require.NotNil(t, sh.Parallelism)
	assert.Equal(t, *sh.Completions, *sh.Parallelism)
	c := sh.Template.Spec.Containers[0]
	total := ""
	for _, e := range c.Env {
		if e.Name == "IOMAPCT_SHARD_TOTAL" {
			total = e.Value
		}
	}
	assert.Equal(t, strconv.Itoa(int(*sh.Completions)), total,
		"IOMAPCT_SHARD_TOTAL must equal completions, or shards would be lost or run twice")
	assert.Contains(t, strings.Join(c.Args, " "), "iomapct run --kernel /work/kernel")
	assert.Contains(t, strings.Join(jobs["iomapct-merge"].Spec.Template.Spec.Containers[0].Args, " "), "iomapct merge")
	for name, j := range jobs {
		for _, v := range j.Spec.Template.Spec.Volumes {
			require.NotNil(t, v.PersistentVolumeClaim, "job %s volume %s", name, v.Name)
			assert.Equal(t, "iomapct-work", v.PersistentVolumeClaim.ClaimName, "job %s", name)
		}
	}
}
