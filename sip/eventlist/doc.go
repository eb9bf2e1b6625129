// Package eventlist reads and writes the bodies of resource list NOTIFYs
// (RFC 4662): a multipart/related body (RFC 2387) whose root part is an
// RLMI document (application/rlmi+xml) naming the list's resources, their
// instances and each instance's state, and whose other parts are the
// resources' own documents (PIDF, dialog-info), found by Content-ID.
//
// Parse takes the NOTIFY's Content-Type and body and returns the list's
// URI, version, whether it is full state, and per resource its instances
// with their state and document. Sub-lists (a part that is itself
// multipart/related) are read into the same flat list of resources, up to
// a depth of MaxDepth. Everything is bounded (Limits): body size, parts,
// resources, instances per resource; a part without a matching Content-ID
// leaves its instance without a document rather than failing the whole
// NOTIFY. Only binary, 8bit, 7bit and base64 transfer encodings are read,
// and only UTF-8 RLMI; a DOCTYPE is refused.
//
// Marshal writes a Notification back (for test PBXs, the test bed and
// round-trip tests): Parse(Marshal(n)) gives n again.
package eventlist
