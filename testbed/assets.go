// Package testbed holds the files of the loopback SIP test bed that are not Go
// code: the Kamailio configuration template and the sqlite schema it needs.
// The Go side that renders and runs them is internal/testbed.
package testbed

import _ "embed"

// KamailioConfig is the Kamailio configuration, a text/template with the fields
// Port, Domain and DBURL (see the header of kamailio.cfg).
//
//go:embed kamailio.cfg
var KamailioConfig string

// Schema creates the sqlite tables Kamailio's auth_db, presence and pua modules
// check at start-up (copied from Kamailio's own db_sqlite schema files).
//
//go:embed schema.sql
var Schema string
