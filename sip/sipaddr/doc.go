// Package sipaddr is the one rule by which Frontdesk reads and compares SIP
// addresses: agents' addresses in the config, the registrar and proxy, and
// the From, To and Request-URI of what the PBX sends. Chat's "the reply must
// come from the chat's agent" compares addresses made by this rule on both
// sides, so they always agree.
//
// The rule (RFC 3261 19.1.4):
//   - the scheme (sip or sips) and the host compare case-insensitively and
//     are kept in lower case; an IPv6 host is kept in brackets;
//   - the user part is case-sensitive and kept as written, except that an
//     escaped character other than a reserved one (%41 for A) means the
//     character itself; escapes of reserved characters keep upper-case hex;
//   - URI parameters (;transport=tcp) and headers (?subject=x) do not belong
//     to the address and are dropped; a display name and angle brackets
//     around the URI are dropped;
//   - the port is kept in Addr.Port and in String (a dialable address) and
//     left out of AOR and Key (an identity: registrars and presence servers
//     key on user@host);
//   - a password in the user part is refused.
//
// Parse reads any written form ("Name" <sip:user@host:port;params>,
// sip:user@host, user@host, host, host:port); ParseUser reads an address
// of a user, where a bare word is a user of a default domain; New applies
// the rule to parts an already parsed URI holds. The package imports
// nothing of Frontdesk, so config, sip and chat can all use it.
package sipaddr
