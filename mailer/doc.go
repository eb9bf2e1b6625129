// Package mailer sends the gateway's few mails (a chat's transcript to the
// visitor who asked for it) through the configured submission server
// (config.SMTP) with net/smtp: STARTTLS with a verified certificate unless
// require_tls is false, AUTH PLAIN only over TLS, one recipient, a bounded
// plain-text UTF-8 body (quoted-printable). Nothing a visitor typed reaches
// a header unchecked: the recipient is one bare address, the subject one
// line, RFC 2047-encoded. Every step is bounded by the context (default
// one minute).
package mailer
