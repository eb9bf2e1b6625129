package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/frontdesk-gw/frontdesk/config"
)

var (
	// ErrNoTLS means the server offers no STARTTLS and require_tls is set.
	ErrNoTLS = errors.New("mailer: the server offers no STARTTLS")
	// ErrBadMessage means a recipient that is not one bare address, or a
	// body over MaxBody.
	ErrBadMessage = errors.New("mailer: bad message")
)

// MaxBody bounds a mail's text, in bytes.
const MaxBody = 256 << 10

// defaultTimeout bounds a send whose context has no deadline.
const defaultTimeout = time.Minute

// Message is one plain-text mail to one recipient.
type Message struct {
	To      string // a bare address: ann@example.com
	Subject string
	Body    string
}

// SMTP sends mail with the server config names; the zero value works.
type SMTP struct {
	// Now is the clock of the Date header (default time.Now).
	Now func() time.Time
}

// Send delivers m through cfg's server and returns once the server took it
// (250 after DATA).
func (s SMTP) Send(ctx context.Context, cfg *config.SMTP, m Message) error {
	if cfg == nil {
		return errors.New("mailer: no smtp server configured")
	}
	to, err := recipient(m.To)
	if err != nil {
		return err
	}
	if len(m.Body) > MaxBody {
		return fmt.Errorf("body of %d bytes: %w", len(m.Body), ErrBadMessage)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return fmt.Errorf("smtp.from %q: %w", cfg.From, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting of %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("EHLO to %s: %w", addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return err
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	} else if cfg.TLSRequired() {
		return fmt.Errorf("%s: %w", addr, ErrNoTLS)
	}
	if cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.User, cfg.ResolvedPassword, cfg.Host)); err != nil {
			return fmt.Errorf("AUTH at %s: %w", addr, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("MAIL FROM at %s: %w", addr, err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT TO at %s: %w", addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA at %s: %w", addr, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if _, err := w.Write(compose(from, to, m, now())); err != nil {
		return fmt.Errorf("send the message to %s: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA at %s: %w", addr, err)
	}
	_ = c.Quit()
	return nil
}

// recipient checks that s is one bare address and returns it.
func recipient(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, "\r\n<>,") {
		return "", fmt.Errorf("recipient %q: %w", s, ErrBadMessage)
	}
	return a.Address, nil
}

func tlsConfig(cfg *config.SMTP) (*tls.Config, error) {
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLSCA != "" {
		pem, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("smtp.tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp.tls_ca %s: no certificate", cfg.TLSCA)
		}
		tc.RootCAs = pool
	}
	if !cfg.TLSRequired() {
		// Opportunistic: encrypted when the server offers it, not verified.
		tc.InsecureSkipVerify = true
	}
	return tc, nil
}

func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// compose is the message as it goes after DATA: headers, a blank line, the
// body in quoted-printable with CRLF line ends.
func compose(from *mail.Address, to string, m Message, now time.Time) []byte {
	var b bytes.Buffer
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	h := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	h("From", from.String())
	h("To", to)
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	_, _ = qp.Write([]byte(body))
	_ = qp.Close()
	return b.Bytes()
}

// oneLine drops control and format characters and collapses white space:
// a subject cannot start a header of its own.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}
