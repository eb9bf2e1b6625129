package eventlist

import "errors"

// Errors of Parse; returned errors wrap one of them.
var (
	// ErrContentType: not multipart/related with a boundary, or its root
	// part is not application/rlmi+xml.
	ErrContentType = errors.New("eventlist: not a multipart/related RLMI body")
	// ErrMalformed: the MIME structure or the RLMI document cannot be read.
	ErrMalformed = errors.New("eventlist: malformed")
	// ErrTooLarge: over one of the Limits.
	ErrTooLarge = errors.New("eventlist: too large")
	// ErrNoRoot: no part carries the RLMI document.
	ErrNoRoot = errors.New("eventlist: no RLMI part")
)
