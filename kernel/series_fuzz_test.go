package kernel

import (
	"testing"
)

// FuzzSeriesParse feeds any text through what reads a series without
// running patch: the mbox split, subjects, the files a patch touches,
// whether it holds a diff, the text of hunk n of each file (for error
// messages) and the parse of patch's fuzz report. Nothing may panic; a
// patch the split keeps must hold a diff by the same test ReadSeries uses.
func FuzzSeriesParse(f *testing.F) {
	f.Add([]byte(""), "")
	f.Add([]byte("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] cover\n\nno diff here\n"), "")
	// The panic: a bare "+++ " line and a failing hunk.
	f.Add([]byte("--- a/fs/iomap/buffered-io.c\n+++ \n@@ -1,3 +1,3 @@\n line 1\n-no such line\n+x\n line 3\n"), "patching file fs/iomap/buffered-io.c\nHunk #1 FAILED at 1.\n")
	f.Add([]byte("From abc Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/1] x\n y\n\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"),
		"checking file f\nHunk #1 succeeded at 5 with fuzz 2 (offset 4 lines).\n")
	f.Add([]byte("+++ b/x\n@@\n@@\ndiff \n+++\n--- \n"), "Hunk #99999999999999999999 succeeded at 1 with fuzz 1")
	f.Fuzz(func(t *testing.T, body []byte, out string) {
		p := Patch{Name: "p", Subject: subject(body), Body: body}
		for _, m := range splitMbox("x.mbox", body) {
			subject(m.Body)
			hasDiff(m.Body)
		}
		files := patchFiles(body)
		hasDiff(body)
		for _, file := range append(files, "") {
			for n := 0; n < 4; n++ {
				hunkText(body, file, n)
			}
		}
		if err := fuzzed(p, out); err != nil {
			_ = err.Error()
		}
		s := Series{Patches: []Patch{p}}
		s.Files()
		_ = s.ID()
	})
}
