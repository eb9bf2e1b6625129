package presence

import "errors"

// Sentinel errors of the parsers. Parse errors wrap one of these, so callers
// can tell a body they should log and drop from a bug on their side.
var (
	// ErrTooLarge: the body exceeds MaxBodySize.
	ErrTooLarge = errors.New("body too large")
	// ErrEmptyBody: the body is empty or only white space. For NOTIFY this is
	// "no information", which Store handles before parsing.
	ErrEmptyBody = errors.New("empty body")
	// ErrContentType: the content type is not one this package reads.
	ErrContentType = errors.New("unsupported content type")
	// ErrMalformed: the body is not well-formed XML of the expected document.
	ErrMalformed = errors.New("malformed document")
	// ErrDoctype: a DOCTYPE with an internal subset (entity declarations).
	// Plain DOCTYPEs such as XPIDF's "xpidf.dtd" are accepted.
	ErrDoctype = errors.New("DOCTYPE with internal subset not accepted")
)
