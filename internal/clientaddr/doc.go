// Package clientaddr finds the address of the visitor behind an HTTP
// request, also when reverse proxies or load balancers stand in between.
//
// Limits that count per client address (sessions, calls, chats, left
// messages) key on it. Behind a proxy every connection comes from the
// proxy, so the client is named by the proxy: in an X-Forwarded-For or a
// Forwarded (RFC 7239) header for HTTP proxies, or in a PROXY protocol
// v1/v2 header for L4 balancers. Anyone can send such headers, so they are
// read only on connections whose peer is a trusted proxy, and only the
// header the operator named (the one the proxy maintains: a proxy that
// appends to X-Forwarded-For passes a Forwarded header from the client on
// untouched). In that header the client is the right-most address that is
// not itself a trusted proxy: everything left of it was written by whoever
// the first trusted proxy talked to, which may be the visitor.
//
// A Resolver is built once from the config; ClientIP is safe for
// concurrent use. Listener wraps a net.Listener to read the PROXY protocol
// (github.com/pires/go-proxyproto) from trusted peers only.
package clientaddr
