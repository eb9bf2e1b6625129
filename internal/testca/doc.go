// Package testca is a certificate authority for tests: it makes a CA and
// issues server and client certificates from it, all in memory (crypto/x509, ECDSA
// P-256), so that tests of TLS run against real certificate checks without
// any file or tool from outside the test.
package testca
