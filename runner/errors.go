package runner

import (
	"strings"

	"github.com/hashicorp/go-multierror"
)

// oneLine is errs as one error (nil if there are none) whose message is
// each error's own, joined by "; ": it is printed on one line by the
// CLI, and goes into a NOT RUN line's "because" and a stopped verdict's
// message. errors.Is and errors.As see every error in it.
func oneLine(errs *multierror.Error) error {
	if errs == nil {
		return nil
	}
	errs.ErrorFormat = func(es []error) string {
		msgs := make([]string, len(es))
		for i, e := range es {
			msgs[i] = e.Error()
		}
		return strings.Join(msgs, "; ")
	}
	return errs.ErrorOrNil()
}

// joinErrors is the errors that are not nil as one (oneLine), or nil.
func joinErrors(errs ...error) error {
	return oneLine(multierror.Append(nil, errs...))
}
