package coverage

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSourceFunctionsKernelStyle(t *testing.T) {
	src := `// SPDX
#include <linux/fs.h>

static struct foo bar = {
	.x = 1,
};

/*
 * A comment.
 */
static int __iomap_write_begin(const struct iomap_iter *iter, loff_t pos,
		size_t len, struct folio *folio)
{
	if (x) {
		y();
	}
	return 0;
}

static inline bool ifs_is_fully_uptodate(struct folio *folio,
		struct iomap_folio_state *ifs)
{
	return true;
}
EXPORT_SYMBOL_GPL(foo);

vm_fault_t iomap_page_mkwrite(struct vm_fault *vmf, const struct iomap_ops *ops)
{
	return 0;
}
`
	assert.Equal(t, []FuncRange{
		{Name: "__iomap_write_begin", Start: 11, End: 18},
		{Name: "ifs_is_fully_uptodate", Start: 20, End: 24},
		{Name: "iomap_page_mkwrite", Start: 27, End: 30},
	}, SourceFunctions(src))
}
