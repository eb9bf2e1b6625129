package presence

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// charsetReader lets encoding/xml read the charsets PBXs declare in the
// prolog. chan_sip and FreeSWITCH declare ISO-8859-1 (while in practice
// sending ASCII); a few send US-ASCII. Latin-1 maps byte for byte onto the
// first 256 code points, so no table is needed.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		return in, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		raw, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("read latin-1 body: %w", err)
		}
		return bytes.NewReader(latin1ToUTF8(raw)), nil
	default:
		return nil, fmt.Errorf("charset %q: %w", label, ErrMalformed)
	}
}

func latin1ToUTF8(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(raw)/8)
	for _, b := range raw {
		out = utf8.AppendRune(out, rune(b))
	}
	return out
}
